#pragma once

// The HTTP filter contract. A stream's request passes through a chain of decoder filters in
// config order; the last one is the router, which sends it upstream. The response (from the
// router or a local reply) passes through the encoder filters in reverse config order, then
// the codec. Filters know nothing of sockets, codecs or the event loop's internals.
//
// Rules (each has a test in test/common/http/filter_chain_test.cc):
// - decodeHeaders/encodeHeaders return kContinue to pass the message on, or stop; a stopped
//   filter resumes its chain later with continueDecoding()/continueEncoding() (e.g. after an
//   async lookup).
// - Body that arrives while a chain is stopped at headers is buffered by the stream and then
//   passed through the whole chain. Past the listener's buffer limit the producer is told to
//   stop: the downstream is read-disabled (request side), or the decoder filters receive
//   onAboveWriteBufferHighWatermark (response side; the router stops reading the upstream).
// - Body pieces travel as Buffers: a filter that passes a piece on leaves it in the Buffer (it
//   may rewrite it in place); the router moves it into the upstream connection and the codec
//   into the socket's buffer (whole slices change hands, no copy).
// - kStopIterationAndBuffer from a data callback ends the piece's trip at that filter: the
//   filter took it. An encoder filter that took data hands its output on later with
//   injectEncodedData(), which runs the filters after it.
// - The head given to encodeHeaders() is valid during that call; a filter that stopped there
//   reaches it later through responseHead().
// - A decoder filter may answer by itself with sendLocalReply(); the decoder chain stops there
//   and the reply goes through the encoder filters like any response.
// - An encoder filter that will pass the rest of a body on untouched says so with
//   bodyPassesThrough() (asked after the headers); when every encoder does, the transport may
//   move a large body past the chain (raw forwarding: no encodeData calls for it).
// - onDestroy() is called exactly once per filter object (once for a filter that is both a
//   decoder and an encoder), before it is deleted; cancel async work there.

#include <memory>

#include "absl/strings/string_view.h"
#include "source/common/buffer/buffer.h"
#include "source/common/event/dispatcher.h"
#include "source/common/http/header_map.h"

namespace portico::router {
class Route;
}
namespace portico::network {
class Connection;
}

namespace portico::http {

enum class FilterHeadersStatus { kContinue, kStopIteration };
enum class FilterDataStatus { kContinue, kStopIterationAndBuffer };

// What every filter learns of its stream.
class StreamFilterCallbacks {
 public:
  virtual ~StreamFilterCallbacks() = default;
  virtual event::Dispatcher& dispatcher() = 0;
  // The route chosen for the request (nullptr: none matched).
  virtual const router::Route* route() = 0;
  // The downstream peer's IP, for x-forwarded-for and access logs.
  virtual absl::string_view downstreamAddress() = 0;
  // The request's head (valid for the stream's life; encoder filters read e.g. accept-encoding).
  virtual const RequestHead& requestHead() = 0;
  // Bytes of body a filter may hold before it should apply back-pressure.
  virtual uint32_t bufferLimit() const = 0;
  // Aborts the downstream connection (used when a response fails half-way).
  virtual void resetStream(absl::string_view details) = 0;
};

// How a decoder filter passes the request on and answers it.
class StreamDecoderFilterCallbacks : public virtual StreamFilterCallbacks {
 public:
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

  // Back-pressure on the request body: stop/start reading from the downstream.
  virtual void readDisableDownstream(bool disable) = 0;
  // Records the upstream host for logs and stats.
  virtual void setUpstreamHost(absl::string_view host) = 0;

  // For the router only. The downstream connection, when the rest of the response body may be
  // moved to it byte for byte by the transport (raw forwarding, no user-space copy): the
  // response head is written, no encoder filter will see the body and its framing is the
  // upstream's Content-Length (every encoder filter says bodyPassesThrough()). Else nullptr.
  virtual network::Connection* responseBodySink() { return nullptr; }
  // That many more body bytes went to the downstream connection that way (for logs and
  // stats; called as they go, so an aborted response counts what was sent).
  virtual void onResponseBodyForwarded(uint64_t /*bytes*/) {}
};

// Receives back-pressure from the downstream connection (the response side).
class DownstreamWatermarkCallbacks {
 public:
  virtual ~DownstreamWatermarkCallbacks() = default;
  virtual void onAboveWriteBufferHighWatermark() = 0;
  virtual void onBelowWriteBufferLowWatermark() = 0;
};

// How an encoder filter passes the response on.
class StreamEncoderFilterCallbacks : public virtual StreamFilterCallbacks {
 public:
  // Resumes a chain this filter stopped at headers.
  virtual void continueEncoding() = 0;
  // The response head while the chain is stopped at this filter, to change before
  // continueEncoding(). The reference given to encodeHeaders() is valid during that call only:
  // it may be on the producer's stack, or in an upstream codec that serves another response
  // meanwhile. The stream keeps its own copy from the moment a filter stops the chain.
  virtual ResponseHead& responseHead() = 0;
  // Passes `data` (taken whole) to the encoder filters after this one, then the codec.
  virtual void injectEncodedData(buffer::Buffer& data, bool end_stream) = 0;
};

class StreamFilterBase {
 public:
  virtual ~StreamFilterBase() = default;
  virtual void onDestroy() = 0;
};

class StreamDecoderFilter : public virtual StreamFilterBase {
 public:
  virtual void setDecoderFilterCallbacks(StreamDecoderFilterCallbacks& callbacks) = 0;
  virtual FilterHeadersStatus decodeHeaders(RequestHead& head, bool end_stream) = 0;
  // kContinue passes what is left in `data` to the next filter; kStopIterationAndBuffer ends
  // the piece's trip here (the filter took or dropped it).
  virtual FilterDataStatus decodeData(buffer::Buffer& data, bool end_stream) = 0;
  // Non-null when the filter wants to hear about downstream write back-pressure.
  virtual DownstreamWatermarkCallbacks* watermarkCallbacks() { return nullptr; }
};
using StreamDecoderFilterPtr = std::unique_ptr<StreamDecoderFilter>;

class StreamEncoderFilter : public virtual StreamFilterBase {
 public:
  virtual void setEncoderFilterCallbacks(StreamEncoderFilterCallbacks& callbacks) = 0;
  // 1xx heads pass through the encoder filters only to be seen (they cannot be stopped).
  virtual void encode1xxHeaders(ResponseHead&) {}
  virtual FilterHeadersStatus encodeHeaders(ResponseHead& head, bool end_stream) = 0;
  // kContinue passes what is left in `data` on; kStopIterationAndBuffer: the filter took it.
  virtual FilterDataStatus encodeData(buffer::Buffer& data, bool end_stream) = 0;
  // Asked once the response headers passed this filter: true when it will pass the rest of the
  // body on byte for byte without needing to see it, so the transport may move the body past
  // the chain (raw forwarding: no copy, no encodeData calls). False, the default, is safe.
  virtual bool bodyPassesThrough() const { return false; }
};
using StreamEncoderFilterPtr = std::unique_ptr<StreamEncoderFilter>;

// Both directions in one object (e.g. a filter that reads the request and edits the response).
class StreamFilter : public StreamDecoderFilter, public StreamEncoderFilter {};
using StreamFilterPtr = std::unique_ptr<StreamFilter>;

// Given to a listener's filter factories to build one stream's chain, in config order.
class FilterChainFactoryCallbacks {
 public:
  virtual ~FilterChainFactoryCallbacks() = default;
  virtual void addStreamDecoderFilter(StreamDecoderFilterPtr filter) = 0;
  virtual void addStreamEncoderFilter(StreamEncoderFilterPtr filter) = 0;
  virtual void addStreamFilter(StreamFilterPtr filter) = 0;
};

}  // namespace portico::http
