#pragma once

// AdsStream<Request, Response>: what the state-of-the-world and the delta streams share on top
// of grpc++'s callback API: one read always posted, a queue of responses written one at a time
// (gRPC allows one outstanding write), the watch on the cache, the node's view, and the
// StreamState that decides what to push. Subclasses turn requests into StreamState calls and
// Pushes into responses.
//
// Threads: gRPC runs OnReadDone/OnWriteDone on its callback threads and the cache runs the watch
// on the publishing thread; `mutex_` serializes them. Nothing calls into the cache while holding
// `mutex_`, and the watch is destroyed (waiting for a running callback) before the stream is.

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <deque>
#include <mutex>
#include <string>

#include "absl/strings/str_cat.h"
#include "source/control_plane/cache/snapshot_cache.h"
#include "source/control_plane/server/stream_callbacks.h"
#include "source/control_plane/server/stream_slots.h"
#include "source/control_plane/server/stream_state.h"

namespace portico::control_plane {

template <class Request, class Response>
class AdsStream : public grpc::ServerBidiReactor<Request, Response> {
 public:
  // Holds one of `slots` (taken by the caller) until OnDone.
  AdsStream(grpc::CallbackServerContext* context, SnapshotCache& cache, StreamCallbacks& callbacks,
            StreamSlots& slots, uint64_t id, bool delta)
      : context_(context),
        cache_(cache),
        callbacks_(callbacks),
        slots_(slots),
        id_(id),
        state_(delta),
        delta_(delta) {}

  // A proxy that reads its responses has at most one per type on the wire (StreamState waits
  // for each reply, and a reply to a response not sent yet ends the stream): more queued is a
  // bug, and the stream ends rather than buffer without bound.
  static constexpr size_t kMaxQueuedResponses = 32;
  static constexpr size_t kMaxNodeBytes = 256 * 1024;
  static constexpr size_t kMaxNodeNameBytes = 1024;  // node.id, node.cluster

  // Starts reading; called once by the service after construction.
  void start() {
    // Taking mutex_ here and in OnDone() costs nothing and lets ThreadSanitizer see the order
    // gRPC guarantees (construction, reactions, OnDone) through its uninstrumented internals.
    std::lock_guard<std::mutex> lock(mutex_);
    watch_ = cache_.watch([this](const SnapshotConstSharedPtr& s) { onSnapshot(s); });
    this->StartRead(&request_);
  }

  // grpc::ServerBidiReactor
  void OnReadDone(bool ok) override {
    std::unique_lock<std::mutex> lock(mutex_);
    readDoneLocked(ok);
    cancelUnlocked(lock);
  }

  void readDoneLocked(bool ok) {
    if (!ok) {  // the proxy half-closed or went away
      finishLocked(grpc::Status::OK);
      return;
    }
    if (!opened_) {
      if (!request_.has_node() || request_.node().id().empty()) {
        finishLocked(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                  "the first request must carry node.id"));
        return;
      }
      // The node is kept for the stream's life (fleet view, per-node views): bounded, as
      // Istio's large node metadata is a few KiB.
      if (const size_t bytes = request_.node().ByteSizeLong(); bytes > kMaxNodeBytes) {
        finishLocked(
            grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                         absl::StrCat("node is ", bytes, " bytes; at most ", kMaxNodeBytes)));
        return;
      }
      // The id and cluster label every per-node series on /metrics and every /v1/fleet
      // entry: a name's length, not a blob's.
      for (const auto& [field, value] : {std::pair{"node.id", &request_.node().id()},
                                         std::pair{"node.cluster", &request_.node().cluster()}}) {
        if (value->size() > kMaxNodeNameBytes) {
          finishLocked(grpc::Status(
              grpc::StatusCode::INVALID_ARGUMENT,
              absl::StrCat(field, " is ", value->size(), " bytes; at most ", kMaxNodeNameBytes)));
          return;
        }
      }
      opened_ = true;
      node_ = std::make_shared<const config::v1::Node>(request_.node());
      snapshot_ = cache_.current();
      if (snapshot_ != nullptr) view_ = snapshot_->viewFor(*node_);
      callbacks_.onStreamOpen(id_, node_, delta_);
    }
    // A reply can only be to a response the peer may have read: one written or being written.
    // One to a response still waiting in the queue names a nonce the peer guessed (they are
    // predictable): such a peer would grow the queue without reading it.
    if (!request_.response_nonce().empty()) {
      for (size_t i = writing_ ? 1 : 0; i < queue_.size(); i++) {
        if (queue_[i].nonce() == request_.response_nonce()) {
          finishLocked(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                    "a reply to a response not sent yet"));
          cancel_ = writing_;  // the write in flight may never complete: see cancelUnlocked()
          return;
        }
      }
    }
    grpc::Status st = handleRequest(request_);
    if (!st.ok()) {
      finishLocked(st);
      return;
    }
    pumpLocked();
    if (!finished_) this->StartRead(&request_);
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard<std::mutex> lock(mutex_);
    writing_ = false;
    queue_.pop_front();
    // A failed write (the peer went away, or we cancelled the stream) ends it; an ended
    // stream's Finish() goes out from writeNextLocked() now that no write is in flight.
    if (!ok) finishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE, "write failed"));
    writeNextLocked();
  }

  void OnDone() override {
    { std::lock_guard<std::mutex> lock(mutex_); }
    watch_.reset();  // waits for a running snapshot callback
    if (opened_) callbacks_.onStreamClosed(id_);
    StreamSlots& slots = slots_;
    delete this;
    slots.giveBack();
  }

 protected:
  // Applies one request to state_ (subscriptions, ACK/NACK). Runs under mutex_.
  virtual grpc::Status handleRequest(const Request& request) = 0;
  virtual void fillResponse(const Push& push, Response& response) = 0;

  StreamState& state() { return state_; }
  const NodeView* view() const { return view_.get(); }
  uint64_t id() const { return id_; }
  StreamCallbacks& callbacks() { return callbacks_; }

 private:
  void onSnapshot(const SnapshotConstSharedPtr& snapshot) {
    NodeViewConstSharedPtr view;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!opened_ || finished_) {
        return;
      }
    }
    view = snapshot->viewFor(*node_);  // node_ is fixed once opened_
    std::unique_lock<std::mutex> lock(mutex_);
    snapshot_ = snapshot;
    view_ = std::move(view);
    pumpLocked();
    cancelUnlocked(lock);
  }

  // A stream ended while its write is stuck (the peer does not read) is cancelled, which fails
  // that write and lets Finish() go out. Outside mutex_: the cancellation may run reactions.
  void cancelUnlocked(std::unique_lock<std::mutex>& lock) {
    const bool cancel = cancel_;
    cancel_ = false;
    lock.unlock();
    if (cancel) context_->TryCancel();
  }

  void pumpLocked() {
    if (finished_ || view_ == nullptr) return;
    for (Push& push : state_.plan(*view_, snapshot_->version())) {
      Response& response = queue_.emplace_back();
      fillResponse(push, response);
      response.mutable_control_plane()->set_identifier("portico-control");
      callbacks_.onResponse(id_, push.kind, push.version, push.nonce, response.ByteSizeLong());
    }
    if (queue_.size() > kMaxQueuedResponses) {
      finishLocked(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                "responses are not being read: the stream ends"));
      cancel_ = writing_;  // the write in flight may never complete: see cancelUnlocked()
      return;
    }
    writeNextLocked();
  }

  void writeNextLocked() {
    if (writing_ || queue_.empty() || finished_) {
      if (finished_ && !finish_sent_ && !writing_) {
        finish_sent_ = true;
        this->Finish(finish_status_);
      }
      return;
    }
    writing_ = true;
    this->StartWrite(&queue_.front());
  }

  void finishLocked(const grpc::Status& status) {
    if (finished_) return;
    finished_ = true;
    finish_status_ = status;
    writeNextLocked();  // finishes now, or after the write in flight completes
  }

  grpc::CallbackServerContext* const context_;
  SnapshotCache& cache_;
  StreamCallbacks& callbacks_;
  StreamSlots& slots_;
  const uint64_t id_;
  WatchPtr watch_;

  std::mutex mutex_;
  Request request_;
  std::deque<Response> queue_;  // front() is being written while writing_
  bool writing_ = false;
  bool cancel_ = false;  // set under mutex_, acted on by cancelUnlocked()
  bool opened_ = false;
  bool finished_ = false;
  bool finish_sent_ = false;
  grpc::Status finish_status_;
  std::shared_ptr<const config::v1::Node> node_;
  SnapshotConstSharedPtr snapshot_;
  NodeViewConstSharedPtr view_;
  StreamState state_;
  const bool delta_;
};

}  // namespace portico::control_plane
