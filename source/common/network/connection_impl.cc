#include "source/common/network/connection_impl.h"

#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <vector>

namespace portico::network {

namespace {
thread_local uint64_t next_connection_id = 1;
// Connections with data written this loop turn; flushed together at the end of the turn, so
// a response head and body produced by separate calls leave in one send().
thread_local std::vector<ConnectionImpl*> pending_flush;
thread_local std::vector<ConnectionImpl*> pending_flush_spare;  // keeps its capacity
thread_local bool flush_scheduled = false;
// Bytes read per read event before yielding to other connections (fairness).
constexpr size_t kMaxReadPerEvent = 256 * 1024;
// A closing connection's peer must take some of what is left within this long.
constexpr std::chrono::milliseconds kDelayedCloseTimeout{1000};
// Writes wait for the end of the loop turn, so everything one read event produced (a head and
// the body pieces that came with it) leaves in one send(): each send on loopback also pays the
// receiver's TCP path, so fewer, larger sends cost less per byte. Past this much, send at once
// (bounds what a turn holds; one read event reads at most kMaxReadPerEvent).
constexpr size_t kFlushNowBytes = kMaxReadPerEvent;
}  // namespace

ConnectionImpl::ConnectionImpl(event::Dispatcher& dispatcher, int fd, const Address& remote,
                               bool connecting, uint32_t buffer_limit)
    : dispatcher_(dispatcher),
      fd_(fd),
      remote_(remote),
      id_(next_connection_id++),
      high_watermark_(buffer_limit),
      low_watermark_(buffer_limit / 2),
      connecting_(connecting) {
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  // Write readiness is watched only while connecting or while a write is blocked.
  file_event_ = dispatcher_.createFileEvent(
      fd_, [this](uint32_t events) { onFileEvent(events); }, connecting_);
}

// Bytes in the socket's send queue (sent but not acknowledged, or not sent yet).
static uint64_t kernelSendQueue(int fd) {
  int queued = 0;
  if (fd < 0 || ::ioctl(fd, SIOCOUTQ, &queued) != 0 || queued < 0) return 0;
  return static_cast<uint64_t>(queued);
}

uint64_t ConnectionImpl::bytesDelivered() const {
  return bytes_written_ - std::min<uint64_t>(bytes_written_, kernelSendQueue(fd_));
}

uint64_t ConnectionImpl::bytesUndelivered() const {
  return write_buffer_.length() + kernelSendQueue(fd_);
}

void ConnectionImpl::setResetOnClose() {
  if (fd_ < 0) return;
  const linger reset{1, 0};  // close(2) then sends RST instead of FIN
  setsockopt(fd_, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
  reset_on_close_ = true;  // and no lingering close (its shutdown would send a FIN)
}

ConnectionImpl::~ConnectionImpl() {
  detachForwards();
  if (flush_pending_) {
    auto it = std::find(pending_flush.begin(), pending_flush.end(), this);
    if (it != pending_flush.end()) *it = nullptr;
  }
  file_event_.reset();
  if (fd_ >= 0) ::close(fd_);
}

std::unique_ptr<ConnectionImpl> ConnectionImpl::connect(event::Dispatcher& dispatcher,
                                                        const Address& address,
                                                        uint32_t buffer_limit) {
  int fd = socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return nullptr;
  const bool refused = ::connect(fd, address.sockAddr(), address.sockLen()) != 0 &&
                       errno != EINPROGRESS;  // read before anything else can change errno
  const int error = refused ? errno : 0;
  auto conn = std::make_unique<ConnectionImpl>(dispatcher, fd, address, true, buffer_limit);
  conn->outgoing_ = true;
  if (refused) {
    // Refused at once: report it through the normal event path so callers have one failure path.
    conn->connect_failed_ = true;
    conn->connect_error_ = error;
    conn->file_event_->activate(event::kWrite);
  }
  return conn;
}

void ConnectionImpl::onFileEvent(uint32_t events) {
  if (fd_ < 0) return;
  if (!file_event_->registered()) {
    // epoll refused the socket (out of watches): it can never be served; close it.
    closeSocket(ConnectionEvent::kRemoteClose);
    return;
  }
  if (connecting_) {
    if ((events & (event::kWrite | event::kClosed)) == 0) return;
    if (connect_failed_) {
      closeSocket(ConnectionEvent::kRemoteClose);
      return;
    }
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      connect_error_ = err;
      closeSocket(ConnectionEvent::kRemoteClose);
      return;
    }
    connecting_ = false;
    if (write_buffer_.length() == 0) file_event_->setWriteInterest(false);
    if (callbacks_ != nullptr) callbacks_->onEvent(ConnectionEvent::kConnected);
    if (fd_ < 0) return;
  }
  if (events & event::kClosed) {
    peer_closed_ = true;
    if (read_disable_count_ > 0 && !close_after_flush_ && read_buffer_.length() == 0 &&
        peerIsGone()) {
      // Reading is paused (back-pressure), so nothing below reads, and an edge-triggered
      // epoll does not report this close again: without this the connection, its stream and
      // the upstream request would wait until reading resumes, which may be never. (Data
      // already read and not yet taken by the owner is delivered first, when it resumes.)
      remote_closed_ = true;
      closeSocket(ConnectionEvent::kRemoteClose);
      return;
    }
  }
  // The peer hung up or reset: what it sent first is read first. A send would fail on the
  // reset and close the socket with, say, an upstream's final 413 still unread.
  const bool read_first = (events & event::kClosed) && (events & event::kRead);
  if (read_first) {
    onReadReady();
    if (fd_ < 0) return;
  }
  if (events & event::kWrite) {
    onWriteReady();
    if (fd_ < 0) return;
  }
  // A send that failed just now (the reset came after this event was reported) reads too.
  if (!read_first && ((events & event::kRead) || write_failed_)) onReadReady();
  // What an upstream sent before it went away (the answer to what we sent) is delivered before
  // the close, even when one event does not read it all (over kMaxReadPerEvent, reads paused
  // by back-pressure, a forward's pipe waiting for its sink): the reads that follow end at its
  // EOF or reset, and close then; the owner's timeouts bound a wait for a reader that never
  // comes. What a client sent before it went away is a request nobody can answer any more.
  if (fd_ >= 0 && write_failed_ && !(outgoing_ && !close_after_flush_ && inputPending())) {
    closeSocket(ConnectionEvent::kRemoteClose);
  }
}

bool ConnectionImpl::inputPending() const {
  if (forward_ != nullptr && forward_->in_pipe > 0) return true;
  int unread = 0;
  return ::ioctl(fd_, FIONREAD, &unread) == 0 && unread > 0;
}

void ConnectionImpl::onReadReady() {
  if (read_disable_count_ > 0 || remote_closed_) return;
  if (forward_ != nullptr) {
    onForwardReadReady();
    return;
  }
  size_t total = 0;
  size_t total_before_delivery = 0;  // read and already handed to onData()
  bool eof = false;
  while (total + total_before_delivery < kMaxReadPerEvent) {
    size_t want = kMaxReadPerEvent - total - total_before_delivery;
    ssize_t rc = read_buffer_.readFrom(fd_, want);
    if (rc > 0) {
      total += static_cast<size_t>(rc);
      // A short read means the socket is drained: skip the read that would only say EAGAIN.
      // Edge-triggered epoll reports data that arrives after this point as a new edge. Not
      // when the peer has closed: that edge came already, so read on to see the EOF.
      if (!peer_closed_ &&
          static_cast<size_t>(rc) < std::min(want, read_buffer_.lastReadCapacity())) {
        break;
      }
      if (deliver_each_read_ && callbacks_ != nullptr) {
        // More is waiting. The owner sees this piece first: after a message head it may
        // forward the body that follows raw (forwardRaw) instead of reading it here.
        bytes_read_ += total;
        total_before_delivery += total;
        total = 0;
        forward_started_ = false;
        deliverRead();
        if (fd_ < 0 || forward_started_ || read_disable_count_ > 0) return;
      }
      continue;
    }
    if (rc == 0) {
      eof = true;
    } else if (errno == EINTR) {
      continue;
    } else if (errno != EAGAIN) {
      eof = true;  // reset or error: the peer is gone, and the last message may be cut short
      reset_ = true;
    }
    break;
  }
  bytes_read_ += total;
  if (total + total_before_delivery == kMaxReadPerEvent) {
    file_event_->activate(event::kRead);  // more may be waiting
  }
  if (read_buffer_.length() > 0 && callbacks_ != nullptr) {
    deliverRead();
    if (fd_ < 0) return;
  }
  if (eof) {
    remote_closed_ = true;
    if (!reset_) sendWhatFits();
    closeSocket(ConnectionEvent::kRemoteClose);
  }
}

bool ConnectionImpl::peerIsGone() {
  // An upstream's unread answer before its reset is read, and the reset seen after it, when
  // reading resumes (see onFileEvent). Before SO_ERROR: reading that clears the error.
  if (outgoing_ && inputPending()) return false;
  int err = 0;
  socklen_t len = sizeof(err);
  if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err != 0) {
    reset_ = true;  // a reset: what it sent last may be cut short
    return true;
  }
  // A FIN with nothing unread before it: reading would only find the EOF, and that closes.
  // Unread data first (the rest of an upload) is read, and judged, when reading resumes; so is
  // a FIN while output waits (the peer only half-closed, and may still read it).
  if (write_buffer_.length() > 0) return false;
  char byte;
  ssize_t n = ::recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0;
}

void ConnectionImpl::sendWhatFits() {
  // The peer only half-closed (FIN): it may still read. The owner's answer to what arrived
  // with the FIN (a local reply, queued for the end of the turn) goes out now, as far as the
  // socket takes it without waiting, instead of being dropped with the buffer.
  while (write_buffer_.length() > 0) {
    ssize_t rc = write_buffer_.writeTo(fd_);
    if (rc > 0) {
      bytes_written_ += static_cast<size_t>(rc);
    } else if (!(rc < 0 && errno == EINTR)) {
      break;
    }
  }
}

void ConnectionImpl::deliverRead() {
  ++delivering_;
  callbacks_->onData(read_buffer_);
  --delivering_;
  // Closed meanwhile: the owner's parser was reading the buffer's memory until now.
  if (fd_ < 0 && delivering_ == 0) read_buffer_.clear();
}

void ConnectionImpl::deliverBuffered() {
  if (fd_ >= 0 && read_buffer_.length() > 0 && callbacks_ != nullptr) deliverRead();
}

void ConnectionImpl::onWriteReady() { flush(); }

void ConnectionImpl::flush() {
  while (write_buffer_.length() > 0) {
    ssize_t rc = write_buffer_.writeTo(fd_);
    if (rc > 0) {
      bytes_written_ += static_cast<size_t>(rc);
      noteWriteProgress();
      continue;
    }
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0 && errno == EAGAIN) {
      file_event_->setWriteInterest(true);  // tell us when the peer has taken some
      break;
    }
    // EPIPE, ECONNRESET: the peer is gone, and what it sent before may still be unread (an
    // upstream that refuses an upload answers 413 and resets). Closed from the next event,
    // after reading that; not from here, inside the owner's write.
    reset_ = true;
    write_failed_ = true;
    write_buffer_.clear();
    file_event_->setWriteInterest(false);
    file_event_->activate(event::kRead | event::kClosed);
    return;
  }
  bool forwarding = false;
  if (write_buffer_.length() == 0 && forward_source_ != nullptr) {
    // This connection is a raw forward's sink: the pipe's bytes follow the buffered ones.
    ConnectionImpl* source = forward_source_;
    if (source->pumpForward(true) == PumpResult::kDone) source->completeForward();
    if (fd_ < 0) return;
    forwarding = forward_source_ != nullptr;  // then the pump set the write interest it needs
  }
  if (write_buffer_.length() == 0 && !forwarding) file_event_->setWriteInterest(false);
  if (write_buffer_.length() == 0 && close_after_flush_ && !forwarding) {
    closeSocket(ConnectionEvent::kLocalClose, /*graceful=*/true);
    return;
  }
  checkLowWatermark();
}

void ConnectionImpl::checkLowWatermark() {
  if (above_high_watermark_ && bufferedBytes() <= low_watermark_) {
    above_high_watermark_ = false;
    if (callbacks_ != nullptr) callbacks_->onBelowWriteBufferLowWatermark();
  }
}

void ConnectionImpl::flushPendingWrites() {
  flush_scheduled = false;
  std::vector<ConnectionImpl*> batch = std::move(pending_flush_spare);
  batch.swap(pending_flush);
  for (ConnectionImpl* c : batch) {
    if (c == nullptr) continue;
    c->flush_pending_ = false;
    if (c->fd_ >= 0 && !c->connecting_) c->flush();
  }
  batch.clear();
  pending_flush_spare = std::move(batch);
}

void ConnectionImpl::write(buffer::Buffer& data) {
  if (fd_ < 0 || close_after_flush_ || write_failed_) {
    data.clear();
    return;
  }
  if (forward_source_ != nullptr) {
    // A raw forward into this connection is under way: what is written now comes after the
    // bytes still to be forwarded, so it waits for the forward's end (releaseHeldWrites()).
    if (held_writes_ == nullptr) held_writes_ = std::make_unique<buffer::Buffer>();
    held_writes_->move(data);
  } else {
    write_buffer_.move(data);
    if (connecting_) {
      // Sent once connected.
    } else if (write_buffer_.length() >= kFlushNowBytes) {
      flush();  // bodies stream out now; only small pieces wait for the end of the turn
    } else {
      scheduleFlush();
    }
  }
  if (fd_ >= 0 && !above_high_watermark_ && bufferedBytes() > high_watermark_) {
    above_high_watermark_ = true;
    if (callbacks_ != nullptr) callbacks_->onAboveWriteBufferHighWatermark();
  }
}

void ConnectionImpl::scheduleFlush() {
  if (flush_pending_) return;
  flush_pending_ = true;
  pending_flush.push_back(this);
  if (!flush_scheduled) {
    flush_scheduled = true;
    dispatcher_.runAtEndOfTurn(&ConnectionImpl::flushPendingWrites);
  }
}

void ConnectionImpl::releaseHeldWrites() {
  if (fd_ < 0) return;
  if (held_writes_ != nullptr) {
    write_buffer_.move(*held_writes_);
    held_writes_.reset();
  }
  // Flushed at the end of the turn, not from inside the source's forward work; a close that
  // waited for the forward happens there too.
  if (write_buffer_.length() > 0 || close_after_flush_) scheduleFlush();
}

void ConnectionImpl::noteWriteProgress() {
  // A peer still taking bytes is slow, not gone: the delayed close counts from its last
  // progress (as Envoy's delayed_close_timeout), so a slow reader gets the whole response.
  if (close_after_flush_ && delayed_close_timer_ != nullptr) {
    delayed_close_timer_->enableTimer(kDelayedCloseTimeout);
  }
}

void ConnectionImpl::close(CloseType type) {
  if (fd_ < 0) return;
  if (type == CloseType::kAbort) {
    setResetOnClose();
    closeSocket(ConnectionEvent::kLocalClose, /*graceful=*/false);
    return;
  }
  if (type == CloseType::kFlushWrite && close_after_flush_) return;  // already closing so
  if (write_failed_) {                                               // nothing can be sent any more
    closeSocket(ConnectionEvent::kLocalClose);
    return;
  }
  if (type == CloseType::kFlushWrite && !connecting_) flush();
  if (fd_ < 0) return;
  // A raw forward into this connection counts as written: it finishes (and what was held
  // behind it goes out) before the close, within the same bound.
  if (type == CloseType::kFlushWrite &&
      (write_buffer_.length() > 0 || forward_source_ != nullptr) && !connecting_) {
    close_after_flush_ = true;
    // Stop reading: what the peer sends now is not going to be answered.
    ++read_disable_count_;
    delayed_close_timer_ =
        dispatcher_.createTimer([this] { closeSocket(ConnectionEvent::kLocalClose); });
    delayed_close_timer_->enableTimer(kDelayedCloseTimeout);
    return;
  }
  closeSocket(ConnectionEvent::kLocalClose, type == CloseType::kFlushWrite && !connecting_);
}

void ConnectionImpl::closeSocket(ConnectionEvent event, bool graceful) {
  if (fd_ < 0) return;
  detachForwards();
  file_event_.reset();
  if (delayed_close_timer_) delayed_close_timer_->disableTimer();
  if (graceful && lingering_closer_ != nullptr && !remote_closed_ && !reset_on_close_) {
    lingering_closer_->adopt(fd_);
  } else {
    ::close(fd_);
  }
  fd_ = -1;
  // Not while the owner is in onData(): its parser may be reading the buffer's memory (a
  // close from inside its callbacks, e.g. a reset found by a write); cleared when it returns.
  if (delivering_ == 0) read_buffer_.clear();
  write_buffer_.clear();
  held_writes_.reset();
  if (callbacks_ != nullptr) callbacks_->onEvent(event);
}

void ConnectionImpl::readDisable(bool disable) {
  if (disable) {
    ++read_disable_count_;
    return;
  }
  if (read_disable_count_ == 0) return;
  if (--read_disable_count_ == 0 && fd_ >= 0) {
    // Edge-triggered: data may have arrived while disabled, or be sitting in read_buffer_.
    file_event_->activate(event::kRead);
  }
}

namespace {
// Set on a thread whose kernel refused splice on sockets (e.g. a sandbox): copy from then on.
thread_local bool splice_unsupported = false;
}  // namespace

bool ConnectionImpl::forwardRaw(Connection& sink_connection, uint64_t bytes) {
  auto* sink = dynamic_cast<ConnectionImpl*>(&sink_connection);
  if (splice_unsupported || sink == nullptr || sink == this || bytes == 0 || fd_ < 0 ||
      sink->fd_ < 0 || connecting_ || sink->connecting_ || remote_closed_ || close_after_flush_ ||
      sink->close_after_flush_ || forward_ != nullptr || forward_source_ != nullptr ||
      sink->forward_ != nullptr || sink->forward_source_ != nullptr || read_buffer_.length() > 0) {
    return false;
  }
  std::optional<Pipe> pipe = PipePool::get();
  if (!pipe) return false;
  forward_ = std::make_unique<RawForward>(RawForward{sink, *pipe, bytes, 0, bytes});
  sink->forward_source_ = this;
  switch (pumpForward(false)) {
    case PumpResult::kUnsupported:
      fallBackToCopying();
      return false;
    case PumpResult::kDone:
      forward_started_ = true;
      completeForward();
      return true;
    case PumpResult::kWaiting:
    case PumpResult::kClosed:
      forward_started_ = true;
      return true;
  }
  return true;
}

ConnectionImpl::PumpResult ConnectionImpl::pumpForward(bool may_close) {
  RawForward& f = *forward_;
  size_t moved_in = 0;  // bounded per call, as reads are (fairness between connections)
  for (;;) {
    bool progress = false;
    // Socket -> pipe: the kernel hands the received pages over without copying them.
    if (!f.read_ended && f.to_read > 0 && !f.read_blocked && read_disable_count_ == 0 &&
        f.in_pipe < f.pipe.capacity && moved_in < kMaxReadPerEvent) {
      const size_t want =
          static_cast<size_t>(std::min<uint64_t>(f.to_read, f.pipe.capacity - f.in_pipe));
      ssize_t n =
          splice(fd_, nullptr, f.pipe.write_fd, nullptr, want, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n > 0) {
        f.to_read -= static_cast<uint64_t>(n);
        f.in_pipe += static_cast<uint64_t>(n);
        bytes_read_ += static_cast<uint64_t>(n);
        moved_in += static_cast<size_t>(n);
        progress = true;
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n < 0 && errno == EAGAIN) {
        // With bytes in the pipe EAGAIN may mean the pipe is full: tried again once it drains.
        // With the pipe empty the socket is drained: wait for the next edge.
        if (f.in_pipe == 0) f.read_blocked = true;
      } else if (n < 0 && f.to_read == f.total &&
                 (errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
        return PumpResult::kUnsupported;  // nothing moved yet: the bytes can still be read
      } else {
        // EOF or an error before the body's end: what the pipe holds still goes to the sink
        // (as a copied body would), then this connection closes.
        f.read_ended = true;
      }
    }
    // Pipe -> sink, after what the sink had buffered (e.g. the response head).
    if (f.in_pipe > 0 && f.sink != nullptr) {
      ConnectionImpl& sink = *f.sink;
      if (sink.write_buffer_.length() > 0 && !flushSinkBuffer(sink, may_close)) {
        return forward_ != nullptr ? PumpResult::kWaiting : PumpResult::kClosed;
      }
      ssize_t n = splice(f.pipe.read_fd, nullptr, sink.fd_, nullptr, f.in_pipe,
                         SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n > 0) {
        f.in_pipe -= static_cast<uint64_t>(n);
        sink.bytes_written_ += static_cast<uint64_t>(n);
        sink.noteWriteProgress();
        progress = true;
        if (callbacks_ != nullptr) callbacks_->onRawForwardProgress(static_cast<uint64_t>(n));
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n < 0 && errno == EAGAIN) {
        sink.file_event_->setWriteInterest(true);  // the sink's flush() pumps again
      } else {
        if (!may_close) {
          sink.file_event_->activate(event::kWrite);
          return PumpResult::kWaiting;
        }
        sink.closeSocket(ConnectionEvent::kRemoteClose);
        return PumpResult::kClosed;
      }
    }
    if (f.to_read == 0 && f.in_pipe == 0) return PumpResult::kDone;
    if (f.read_ended && (f.in_pipe == 0 || f.sink == nullptr)) {
      // Closing raises the owner's callbacks, which must not run inside forwardRaw(): then
      // the next read event closes.
      if (!may_close) {
        file_event_->activate(event::kRead);
        return PumpResult::kWaiting;
      }
      closeSocket(ConnectionEvent::kRemoteClose);
      return PumpResult::kClosed;
    }
    if (!progress) break;
  }
  if (moved_in >= kMaxReadPerEvent && f.to_read > 0) file_event_->activate(event::kRead);
  return PumpResult::kWaiting;
}

bool ConnectionImpl::flushSinkBuffer(ConnectionImpl& sink, bool may_close) {
  while (sink.write_buffer_.length() > 0) {
    // MSG_MORE: the pipe's bytes follow at once, so the head and body share TCP segments.
    ssize_t rc = sink.write_buffer_.writeTo(sink.fd_, MSG_MORE);
    if (rc > 0) {
      sink.bytes_written_ += static_cast<uint64_t>(rc);
      sink.noteWriteProgress();
      continue;
    }
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0 && errno == EAGAIN) {
      sink.file_event_->setWriteInterest(true);
      return false;
    }
    if (may_close) {
      sink.closeSocket(ConnectionEvent::kRemoteClose);
    } else {
      sink.file_event_->activate(event::kWrite);
    }
    return false;
  }
  // Its owner may be waiting for the buffer to drain (the router read-disables the upstream
  // above the high watermark). Told from the sink's own write event (its flush ends with
  // checkLowWatermark()), not from inside this pump: the owner's callback could end the
  // forward under it.
  if (sink.above_high_watermark_ && sink.bufferedBytes() <= sink.low_watermark_) {
    sink.file_event_->activate(event::kWrite);
  }
  return true;
}

void ConnectionImpl::onForwardReadReady() {
  if (forward_->sink == nullptr) {
    // The sink closed: the rest of the body has nowhere to go, and this connection is in the
    // middle of a message.
    endForward(false);
    closeSocket(ConnectionEvent::kLocalClose);
    return;
  }
  forward_->read_blocked = false;
  switch (pumpForward(true)) {
    case PumpResult::kDone:
      completeForward();
      return;
    case PumpResult::kUnsupported:
      fallBackToCopying();
      return;
    case PumpResult::kWaiting:
    case PumpResult::kClosed:
      return;
  }
}

void ConnectionImpl::fallBackToCopying() {
  splice_unsupported = true;
  endForward(true);
  forward_started_ = false;
  file_event_->activate(event::kRead);  // the body is read and delivered through onData()
}

void ConnectionImpl::completeForward() {
  const uint64_t total = forward_->total;
  endForward(true);
  // The forward took exactly its bytes; anything already behind them (bytes, an EOF, an
  // error) would otherwise wait unseen for the next edge. One read tells the owner now: for
  // an HTTP/1 upstream, a connection with anything behind a response must not be reused.
  ssize_t rc = read_buffer_.readFrom(fd_, buffer::Slice::kSize);
  const bool input_follows = rc >= 0 || errno != EAGAIN;
  if (rc > 0) bytes_read_ += static_cast<uint64_t>(rc);
  if (input_follows) file_event_->activate(event::kRead);  // delivered as usual next turn
  if (callbacks_ != nullptr) callbacks_->onRawForwardDone(total, input_follows);
}

void ConnectionImpl::endForward(bool pipe_empty) {
  if (forward_ == nullptr) return;
  if (forward_->sink != nullptr) {
    forward_->sink->forward_source_ = nullptr;
    forward_->sink->releaseHeldWrites();
  }
  PipePool::put(forward_->pipe, pipe_empty);
  forward_.reset();
  // The next message's head is read on its own, so its body can be forwarded again.
  read_buffer_.preferSmallReads();
}

void ConnectionImpl::detachForwards() {
  endForward(false);
  if (forward_source_ != nullptr) {
    // Tell the source on its next turn (not from inside this close).
    forward_source_->forward_->sink = nullptr;
    if (forward_source_->file_event_) forward_source_->file_event_->activate(event::kRead);
    forward_source_ = nullptr;
  }
}

}  // namespace portico::network
