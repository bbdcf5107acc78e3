#include "source/common/network/connection_impl.h"

#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

namespace portico::network {

namespace {
thread_local uint64_t next_connection_id = 1;
// Connections with data written this loop turn; flushed together at the end of the turn, so
// a response head and body produced by separate calls leave in one send().
thread_local std::vector<ConnectionImpl*> pending_flush;
thread_local bool flush_scheduled = false;
// Bytes read per read event before yielding to other connections (fairness).
constexpr size_t kMaxReadPerEvent = 256 * 1024;
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

ConnectionImpl::~ConnectionImpl() {
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
  int rc = ::connect(fd, address.sockAddr(), address.sockLen());
  auto conn = std::make_unique<ConnectionImpl>(dispatcher, fd, address, true, buffer_limit);
  if (rc != 0 && errno != EINPROGRESS) {
    // Refused at once: report it through the normal event path so callers have one failure path.
    conn->connect_failed_ = true;
    conn->file_event_->activate(event::kWrite);
  }
  return conn;
}

void ConnectionImpl::onFileEvent(uint32_t events) {
  if (fd_ < 0) return;
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
      closeSocket(ConnectionEvent::kRemoteClose);
      return;
    }
    connecting_ = false;
    if (write_buffer_.length() == 0) file_event_->setWriteInterest(false);
    if (callbacks_ != nullptr) callbacks_->onEvent(ConnectionEvent::kConnected);
    if (fd_ < 0) return;
  }
  if (events & event::kWrite) {
    onWriteReady();
    if (fd_ < 0) return;
  }
  if (events & event::kClosed) peer_closed_ = true;
  if (events & event::kRead) onReadReady();
}

void ConnectionImpl::onReadReady() {
  if (read_disable_count_ > 0 || remote_closed_) return;
  size_t total = 0;
  bool eof = false;
  while (total < kMaxReadPerEvent) {
    size_t want = kMaxReadPerEvent - total;
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
      continue;
    }
    if (rc == 0) {
      eof = true;
    } else if (errno == EINTR) {
      continue;
    } else if (errno != EAGAIN) {
      eof = true;  // reset or error: treated as the peer closing
    }
    break;
  }
  bytes_read_ += total;
  if (total == kMaxReadPerEvent) file_event_->activate(event::kRead);  // more may be waiting
  if (read_buffer_.length() > 0 && callbacks_ != nullptr) {
    callbacks_->onData(read_buffer_);
    if (fd_ < 0) return;
  }
  if (eof) {
    remote_closed_ = true;
    closeSocket(ConnectionEvent::kRemoteClose);
  }
}

void ConnectionImpl::onWriteReady() {
  flush();
}

void ConnectionImpl::flush() {
  while (write_buffer_.length() > 0) {
    ssize_t rc = write_buffer_.writeTo(fd_);
    if (rc > 0) {
      bytes_written_ += static_cast<size_t>(rc);
      continue;
    }
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0 && errno == EAGAIN) {
      file_event_->setWriteInterest(true);  // tell us when the peer has taken some
      break;
    }
    closeSocket(ConnectionEvent::kRemoteClose);
    return;
  }
  if (write_buffer_.length() == 0) file_event_->setWriteInterest(false);
  if (write_buffer_.length() == 0 && close_after_flush_) {
    closeSocket(ConnectionEvent::kLocalClose);
    return;
  }
  checkLowWatermark();
}

void ConnectionImpl::checkLowWatermark() {
  if (above_high_watermark_ && write_buffer_.length() <= low_watermark_) {
    above_high_watermark_ = false;
    if (callbacks_ != nullptr) callbacks_->onBelowWriteBufferLowWatermark();
  }
}

void ConnectionImpl::flushPendingWrites() {
  flush_scheduled = false;
  std::vector<ConnectionImpl*> batch;
  batch.swap(pending_flush);
  for (ConnectionImpl* c : batch) {
    if (c == nullptr) continue;
    c->flush_pending_ = false;
    if (c->fd_ >= 0 && !c->connecting_) c->flush();
  }
}

void ConnectionImpl::write(buffer::Buffer& data) {
  if (fd_ < 0 || close_after_flush_) {
    data.clear();
    return;
  }
  write_buffer_.move(data);
  if (connecting_) {
    // Sent once connected.
  } else if (write_buffer_.length() >= kFlushNowBytes) {
    flush();  // bodies stream out now; only small pieces wait for the end of the turn
  } else if (!flush_pending_) {
    flush_pending_ = true;
    pending_flush.push_back(this);
    if (!flush_scheduled) {
      flush_scheduled = true;
      dispatcher_.runAtEndOfTurn(&ConnectionImpl::flushPendingWrites);
    }
  }
  if (fd_ >= 0 && !above_high_watermark_ && write_buffer_.length() > high_watermark_) {
    above_high_watermark_ = true;
    if (callbacks_ != nullptr) callbacks_->onAboveWriteBufferHighWatermark();
  }
}

void ConnectionImpl::close(CloseType type) {
  if (fd_ < 0) return;
  if (type == CloseType::kFlushWrite && !connecting_) flush();
  if (fd_ < 0) return;
  if (type == CloseType::kFlushWrite && write_buffer_.length() > 0 && !connecting_) {
    close_after_flush_ = true;
    // Stop reading: what the peer sends now is not going to be answered.
    ++read_disable_count_;
    delayed_close_timer_ = dispatcher_.createTimer([this] { closeSocket(ConnectionEvent::kLocalClose); });
    delayed_close_timer_->enableTimer(kDelayedCloseTimeout);
    return;
  }
  closeSocket(ConnectionEvent::kLocalClose);
}

void ConnectionImpl::closeSocket(ConnectionEvent event) {
  if (fd_ < 0) return;
  file_event_.reset();
  if (delayed_close_timer_) delayed_close_timer_->disableTimer();
  ::close(fd_);
  fd_ = -1;
  read_buffer_.clear();
  write_buffer_.clear();
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

}  // namespace portico::network
