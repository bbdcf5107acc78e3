#pragma once

#include <memory>

#include "source/common/event/dispatcher.h"
#include "source/common/network/connection.h"
#include "source/common/network/lingering_closer.h"
#include "source/common/network/pipe_pool.h"

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
  void deliverBuffered() override;
  bool readEnabled() const override { return read_disable_count_ == 0; }
  bool isOpen() const override { return fd_ >= 0; }
  size_t writeBufferLength() const override { return bufferedBytes(); }
  bool aboveHighWatermark() const override { return above_high_watermark_; }
  bool forwardRaw(Connection& sink, uint64_t bytes) override;

  // onData() after every read that filled its space, not once per read event: an owner that
  // forwards bodies raw (an upstream connection) sees a head before its body is read.
  void setDeliverEachRead(bool enabled) { deliver_each_read_ = enabled; }
  // A graceful close (kFlushWrite) that has sent everything hands the socket to `closer`
  // instead of closing it, unless the peer already closed (see lingering_closer.h). For
  // accepted connections, whose client may still be sending.
  void setLingeringCloser(LingeringCloser* closer) { lingering_closer_ = closer; }
  bool closedByReset() const override { return reset_; }
  bool inputWaiting() const override {
    return fd_ >= 0 && (read_buffer_.length() > 0 || inputPending());
  }
  // Why an outgoing connect failed (errno: ECONNREFUSED, ETIMEDOUT, ...); 0 if it did not, or
  // did not say.
  int connectError() const { return connect_error_; }
  // The socket's close, whenever it comes (destruction included), sends a reset (RST), not a
  // FIN. No callbacks.
  void setResetOnClose();
  const Address& remoteAddress() const override { return remote_; }
  uint64_t id() const override { return id_; }
  int fd() const { return fd_; }  // for socket options; -1 once closed
  uint64_t bytesRead() const override { return bytes_read_; }
  uint64_t bytesWritten() const override { return bytes_written_; }
  uint64_t bytesDelivered() const override;
  uint64_t bytesUndelivered() const override;

 private:
  void onFileEvent(uint32_t events);
  void onReadReady();
  // callbacks_->onData(read_buffer_), keeping the buffer's memory while it runs.
  void deliverRead();
  void onWriteReady();
  void flush();
  // Writes what the socket takes now, without callbacks (the peer sent its FIN).
  void sendWhatFits();
  // After a hang-up while reading is paused: the peer reset, or closed with nothing unread.
  bool peerIsGone();
  // Bytes the peer sent that we have not delivered yet: in the socket, or in a raw forward's
  // pipe. A failed send does not close an outgoing connection while there are any.
  bool inputPending() const;
  // `graceful`: everything was sent after a kFlushWrite close; the socket may linger.
  void closeSocket(ConnectionEvent event, bool graceful = false);
  void checkLowWatermark();
  void noteWriteProgress();  // bytes left for the peer: re-arms a pending delayed close
  static void flushPendingWrites();

  // This connection is the source of a raw forward: bytes go socket -> pipe -> sink's socket.
  struct RawForward {
    ConnectionImpl* sink;  // nullptr once the sink closed
    Pipe pipe;
    uint64_t to_read;      // not yet taken from this socket
    uint64_t in_pipe = 0;  // taken, not yet written to the sink
    uint64_t total;
    bool read_blocked = false;  // the socket said EAGAIN with the pipe empty: wait for an edge
    bool read_ended = false;    // EOF or error before the last byte: drain the pipe, then close
  };
  enum class PumpResult { kWaiting, kDone, kClosed, kUnsupported };
  // Moves what it can. `may_close`: false while forwardRaw() runs inside the owner's callback,
  // where errors are left for the next event instead of closing sockets under the caller.
  PumpResult pumpForward(bool may_close);
  // Sends the sink's buffered bytes (they precede the pipe's). False: not all could go.
  bool flushSinkBuffer(ConnectionImpl& sink, bool may_close);
  void endForward(bool pipe_empty);
  // After the last byte: ends the forward, looks once for input right behind it and tells the
  // owner.
  void completeForward();
  // The kernel refused splice before any byte moved: end the forward and read as usual.
  void fallBackToCopying();
  void onForwardReadReady();
  // Ends any forward this connection is part of (it is closing).
  void detachForwards();
  // This connection's forward (as the sink) ended: what was written meanwhile goes out now.
  void releaseHeldWrites();
  void scheduleFlush();
  size_t bufferedBytes() const {
    return write_buffer_.length() + (held_writes_ != nullptr ? held_writes_->length() : 0);
  }
  event::Dispatcher& dispatcher_;
  int fd_;
  Address remote_;
  uint64_t id_;
  ConnectionCallbacks* callbacks_ = nullptr;
  event::FileEventPtr file_event_;
  event::TimerPtr delayed_close_timer_;
  buffer::Buffer read_buffer_;
  buffer::Buffer write_buffer_;
  // Written while a forward into this connection runs; allocated only then (rare), which
  // keeps an idle connection small.
  std::unique_ptr<buffer::Buffer> held_writes_;
  std::unique_ptr<RawForward> forward_;       // set while this connection is a forward's source
  ConnectionImpl* forward_source_ = nullptr;  // set while this connection is a forward's sink
  uint32_t high_watermark_;
  uint32_t low_watermark_;
  uint32_t read_disable_count_ = 0;
  uint64_t bytes_read_ = 0;
  uint64_t bytes_written_ = 0;
  bool connecting_;
  bool above_high_watermark_ = false;
  bool close_after_flush_ = false;
  bool remote_closed_ = false;
  bool reset_ = false;           // a read or send failed (ECONNRESET...): see closedByReset()
  int delivering_ = 0;           // onData() calls on the stack (the read buffer stays)
  bool reset_on_close_ = false;  // setResetOnClose(): the close is a reset, never a FIN
  // A send failed (the peer reset): the close waits for the next event, which reads what the
  // peer sent before its reset (an upstream's early 413 to an upload) first.
  bool write_failed_ = false;
  LingeringCloser* lingering_closer_ = nullptr;
  bool connect_failed_ = false;
  int connect_error_ = 0;
  bool outgoing_ = false;     // made by connect(): what the peer sends answers what we send
  bool peer_closed_ = false;  // epoll reported RDHUP/HUP: read until EOF
  bool flush_pending_ = false;
  bool deliver_each_read_ = false;
  bool forward_started_ = false;  // forwardRaw() ran during the last onData()
};

}  // namespace portico::network
