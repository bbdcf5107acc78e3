#pragma once

// A non-blocking TCP connection bound to one dispatcher. Owners (HTTP codecs, pools) get
// data and events through ConnectionCallbacks; they never see the fd or epoll.

#include <cstdint>
#include <memory>

#include "source/common/buffer/buffer.h"
#include "source/common/network/address.h"

namespace portico::network {

enum class ConnectionEvent { kConnected, kRemoteClose, kLocalClose };

enum class CloseType {
  kFlushWrite,  // send what is buffered, then close (bounded by a delay timeout)
  kNoFlush,     // close now; unsent data is lost (used for resets)
  kAbort,       // close now with a reset (RST): the peer must not take what it got as whole
};

class ConnectionCallbacks {
 public:
  virtual ~ConnectionCallbacks() = default;
  // New bytes are in `data` (the connection's read buffer); consume by draining it.
  virtual void onData(buffer::Buffer& data) = 0;
  // kRemoteClose / kLocalClose arrive once; after them the connection does nothing more.
  virtual void onEvent(ConnectionEvent event) = 0;
  // Write buffer crossed the high watermark upwards / the low watermark downwards.
  virtual void onAboveWriteBufferHighWatermark() = 0;
  virtual void onBelowWriteBufferLowWatermark() = 0;
  // A forwardRaw() moved `bytes` more to the sink. For accounting only: raised inside the
  // forward's work, so the callee must not close or write anything.
  virtual void onRawForwardProgress(uint64_t /*bytes*/) {}
  // A forwardRaw() moved all its bytes to the sink. `input_follows`: bytes, an EOF or an error
  // were already waiting right behind them (handled as usual next turn).
  virtual void onRawForwardDone(uint64_t /*bytes*/, bool /*input_follows*/) {}
};

class Connection {
 public:
  virtual ~Connection() = default;
  virtual void setCallbacks(ConnectionCallbacks& callbacks) = 0;
  // Moves all of `data` into the write buffer and flushes what the socket takes.
  virtual void write(buffer::Buffer& data) = 0;
  virtual void close(CloseType type) = 0;
  // Counted: each true needs a matching false. While disabled no onData() is raised, and the
  // kernel's receive window applies TCP back-pressure to the peer.
  virtual void readDisable(bool disable) = 0;
  virtual bool readEnabled() const = 0;
  // Raises onData() with what is already in the read buffer (a pipelined request left there
  // until the previous response went), as a read would: the buffer stays valid until onData()
  // returns, even if the owner closes the connection from inside it. Nothing when empty.
  virtual void deliverBuffered() = 0;
  virtual bool isOpen() const = 0;
  virtual size_t writeBufferLength() const = 0;
  virtual bool aboveHighWatermark() const = 0;
  // Raw forwarding: the next `bytes` to arrive on this connection go to `sink`'s socket through
  // a kernel pipe (Linux splice), never copied to user space and never seen by onData(). Used
  // for Content-Length bodies nobody inspects. Needs this connection's read buffer empty; what
  // `sink` has buffered is sent first; what is written to `sink` during the forward is held
  // and sent after the forwarded bytes, and a close(kFlushWrite) of `sink` waits for the
  // forward (within its usual bound). Returns false when it cannot be done now (no pipe, a
  // connection closing): the bytes then come through onData() as usual. Else onRawForwardDone()
  // follows (possibly before forwardRaw() returns, when every byte was waiting), or a peer closing
  // mid-way closes this connection as usual (onEvent), after the bytes it did send reached the
  // sink. Splicing into a reset socket raises SIGPIPE: the process must ignore it (portico's main()
  // does).
  virtual bool forwardRaw(Connection& sink, uint64_t bytes) = 0;
  // After kRemoteClose: the peer reset the connection (a read failed, e.g. ECONNRESET) rather
  // than closing it with a FIN, so what it sent last may be cut short.
  virtual bool closedByReset() const = 0;
  virtual const Address& remoteAddress() const = 0;
  virtual uint64_t id() const = 0;
  // Bytes moved, for stats.
  virtual uint64_t bytesRead() const = 0;
  virtual uint64_t bytesWritten() const = 0;
  // Bytes the peer has received (written, minus what the kernel still holds unacknowledged);
  // it moves while a slow reader takes a response, even when no write is possible.
  virtual uint64_t bytesDelivered() const = 0;
  // Bytes on their way to the peer: our buffer and the kernel's send queue.
  virtual uint64_t bytesUndelivered() const = 0;
  // Bytes the peer sent that the owner has not seen yet (in the kernel or our read buffer).
  virtual bool inputWaiting() const = 0;
};
using ConnectionPtr = std::unique_ptr<Connection>;

}  // namespace portico::network
