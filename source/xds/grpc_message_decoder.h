#pragma once

// GrpcMessageDecoder: splits a gRPC body (the payloads of a stream's DATA frames, in whatever
// pieces they arrive) into messages. On the wire each message is a 1-byte compressed flag, a
// 4-byte big-endian length and that many bytes. Whole messages inside one piece are handed
// out without a copy; a message split across pieces (any over one DATA frame, 16 KiB by
// default) is gathered, up to the limit, and the space is given back after a large one.

#include <cstddef>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace portico::xds {

class GrpcMessageDecoder {
 public:
  explicit GrpcMessageDecoder(size_t max_message_bytes) : max_message_bytes_(max_message_bytes) {}

  // Decodes one piece, calling `on_message` for each complete message in order; the view is
  // valid during the call only, and the call must not destroy the decoder. `on_message`
  // returns false to stop (the rest is dropped).
  // A compressed message or one longer than the limit is an error; after an error, or after
  // a stop, every later call returns the same status without decoding.
  absl::Status decode(absl::string_view piece,
                      absl::FunctionRef<bool(absl::string_view)> on_message);

  // Bytes of an incomplete message held between calls (at most the limit plus the prefix).
  size_t bufferedBytes() const { return partial_.size(); }

 private:
  static constexpr size_t kPrefixBytes = 5;
  // Room kept between messages; more is freed (one large route table must not pin its size).
  static constexpr size_t kKeptCapacity = 1024 * 1024;
  // Checks the prefix at `p` and returns the message length, or sets error_.
  bool readPrefix(const char* p, size_t& length);

  const size_t max_message_bytes_;
  std::string partial_;  // an incomplete prefix or message carried to the next piece
  absl::Status error_;
  bool stopped_ = false;
};

}  // namespace portico::xds
