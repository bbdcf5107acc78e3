#pragma once

// The HTTP filter contract. A stream's request passes through a chain of decoder filters; the
// last one is the router, which sends it upstream and encodes the response back through the
// callbacks. Filters know nothing of sockets, codecs or the event loop's internals.
//
// Rules (each has a test in test/common/http/conn_manager_test.cc):
// - decodeHeaders/decodeData return kContinue to pass the request on, or stop; a stopped
//   filter resumes the chain later with continueDecoding() (e.g. after an async lookup).
// - Data arriving while the chain is stopped at headers is buffered by the connection manager
//   up to the connection's buffer limit (then the downstream is read-disabled).
// - Body pieces travel as Buffers: a filter that passes a piece on leaves it in the Buffer; the
//   router moves it into the upstream connection (whole slices change hands, no copy).
// - A filter may answer by itself with sendLocalReply(); the chain stops there.
// - onDestroy() is called exactly once, before the filter is deleted; cancel async work there.

#include <memory>

#include "absl/strings/string_view.h"
#include "source/common/buffer/buffer.h"
#include "source/common/event/dispatcher.h"
#include "source/common/http/header_map.h"

namespace portico::router {
class Route;
}

namespace portico::http {

enum class FilterHeadersStatus { kContinue, kStopIteration };
enum class FilterDataStatus { kContinue, kStopIterationAndBuffer };

// What a filter learns of the stream and how it answers.
class StreamDecoderFilterCallbacks {
 public:
  virtual ~StreamDecoderFilterCallbacks() = default;
  virtual event::Dispatcher& dispatcher() = 0;
  // The route chosen for the request (nullptr: none matched).
  virtual const router::Route* route() = 0;
  // The downstream peer's IP, for x-forwarded-for and access logs.
  virtual absl::string_view downstreamAddress() = 0;
  virtual void continueDecoding() = 0;

  virtual void encode1xxHeaders(ResponseHead& head) = 0;
  virtual void encodeHeaders(ResponseHead& head, bool end_stream) = 0;
  // Takes the whole of `data` (it is empty afterwards).
  virtual void encodeData(buffer::Buffer& data, bool end_stream) = 0;
  void encodeData(absl::string_view data, bool end_stream) {
    buffer::Buffer piece;
    piece.add(data);
    encodeData(piece, end_stream);
  }
  // Sends a complete response with a text body and stops the chain. `details` goes to the
  // access log (%RESPONSE_CODE_DETAILS%).
  virtual void sendLocalReply(int status, absl::string_view body, absl::string_view details) = 0;
  // Aborts the downstream connection (used when a response fails half-way).
  virtual void resetStream(absl::string_view details) = 0;

  // Back-pressure on the request body: stop/start reading from the downstream.
  virtual void readDisableDownstream(bool disable) = 0;
  // Bytes of request body a filter may hold before it should stop reading (readDisable).
  virtual uint32_t bufferLimit() const = 0;
  // Records the upstream host for logs and stats.
  virtual void setUpstreamHost(absl::string_view host) = 0;
};

// Receives back-pressure from the downstream connection (the response side).
class DownstreamWatermarkCallbacks {
 public:
  virtual ~DownstreamWatermarkCallbacks() = default;
  virtual void onAboveWriteBufferHighWatermark() = 0;
  virtual void onBelowWriteBufferLowWatermark() = 0;
};

class StreamDecoderFilter {
 public:
  virtual ~StreamDecoderFilter() = default;
  virtual void setDecoderFilterCallbacks(StreamDecoderFilterCallbacks& callbacks) = 0;
  virtual FilterHeadersStatus decodeHeaders(RequestHead& head, bool end_stream) = 0;
  // kContinue passes what is left in `data` to the next filter; kStopIterationAndBuffer ends
  // the piece's trip here (the filter took or dropped it).
  virtual FilterDataStatus decodeData(buffer::Buffer& data, bool end_stream) = 0;
  // Non-null when the filter wants to hear about downstream write back-pressure.
  virtual DownstreamWatermarkCallbacks* watermarkCallbacks() { return nullptr; }
  virtual void onDestroy() = 0;
};
using StreamDecoderFilterPtr = std::unique_ptr<StreamDecoderFilter>;

}  // namespace portico::http
