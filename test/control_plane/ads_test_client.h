#pragma once

// A real grpc++ client for protocol tests: a stream whose responses are read on a thread into a
// queue, so tests can wait with a timeout (and check that nothing arrives).

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "portico/service/discovery/v1/discovery.grpc.pb.h"

namespace portico::control_plane::test {

template <class Request, class Response>
class TestStream {
 public:
  using Opener = std::function<std::unique_ptr<grpc::ClientReaderWriter<Request, Response>>(
      grpc::ClientContext*)>;
  explicit TestStream(Opener open) {
    context_.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    stream_ = open(&context_);
    reader_ = std::thread([this] {
      Response r;
      while (stream_->Read(&r)) {
        std::lock_guard<std::mutex> lock(mutex_);
        queue_.push_back(r);
        cv_.notify_all();
      }
      std::lock_guard<std::mutex> lock(mutex_);
      closed_ = true;
      cv_.notify_all();
    });
  }
  ~TestStream() { close(); }

  bool send(const Request& r) { return stream_->Write(r); }
  std::optional<Response> next(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait_for(lock, timeout, [this] { return !queue_.empty() || closed_; });
    if (queue_.empty()) return std::nullopt;
    Response r = queue_.front();
    queue_.pop_front();
    return r;
  }
  // Closes our side and waits for the server to end the stream.
  grpc::Status close() {
    if (!reader_.joinable()) return status_;
    stream_->WritesDone();  // the server ends the stream (bounded by the deadline)
    reader_.join();
    status_ = stream_->Finish();
    return status_;
  }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<Request, Response>> stream_;
  std::thread reader_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Response> queue_;
  bool closed_ = false;
  grpc::Status status_;
};

using SotwClient =
    TestStream<service::discovery::v1::DiscoveryRequest, service::discovery::v1::DiscoveryResponse>;
using DeltaClient = TestStream<service::discovery::v1::DeltaDiscoveryRequest,
                               service::discovery::v1::DeltaDiscoveryResponse>;

}  // namespace portico::control_plane::test
