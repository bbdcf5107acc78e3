#pragma once

#include "source/common/event/dispatcher.h"
#include "source/common/network/connection.h"

namespace portico::network {

class ConnectionImpl : public Connection {
 public:
  // Takes ownership of a connected (or connecting) non-blocking fd.
  ConnectionImpl(event::Dispatcher& dispatcher, int fd, const Address& remote, bool connecting,
                 uint32_t buffer_limit);
  ~ConnectionImpl() override;

  // Starts a non-blocking connect. Returns nullptr (errno set) if the socket can't be created.
  static std::unique_ptr<ConnectionImpl> connect(event::Dispatcher& dispatcher,
                                                 const Address& address, uint32_t buffer_limit);

  // Connection
  void setCallbacks(ConnectionCallbacks& callbacks) override { callbacks_ = &callbacks; }
  void write(buffer::Buffer& data) override;
  void close(CloseType type) override;
  void readDisable(bool disable) override;
  bool readEnabled() const override { return read_disable_count_ == 0; }
  bool isOpen() const override { return fd_ >= 0; }
  size_t writeBufferLength() const override { return write_buffer_.length(); }
  bool aboveHighWatermark() const override { return above_high_watermark_; }
  const Address& remoteAddress() const override { return remote_; }
  uint64_t id() const override { return id_; }
  uint64_t bytesRead() const override { return bytes_read_; }
  uint64_t bytesWritten() const override { return bytes_written_; }

 private:
  void onFileEvent(uint32_t events);
  void onReadReady();
  void onWriteReady();
  void flush();
  void closeSocket(ConnectionEvent event);
  void checkLowWatermark();
  static void flushPendingWrites();

  event::Dispatcher& dispatcher_;
  int fd_;
  Address remote_;
  uint64_t id_;
  ConnectionCallbacks* callbacks_ = nullptr;
  event::FileEventPtr file_event_;
  event::TimerPtr delayed_close_timer_;
  buffer::Buffer read_buffer_;
  buffer::Buffer write_buffer_;
  uint32_t high_watermark_;
  uint32_t low_watermark_;
  uint32_t read_disable_count_ = 0;
  uint64_t bytes_read_ = 0;
  uint64_t bytes_written_ = 0;
  bool connecting_;
  bool above_high_watermark_ = false;
  bool close_after_flush_ = false;
  bool remote_closed_ = false;
  bool connect_failed_ = false;
  bool peer_closed_ = false;  // epoll reported RDHUP/HUP: read until EOF
  bool flush_pending_ = false;
};

}  // namespace portico::network
