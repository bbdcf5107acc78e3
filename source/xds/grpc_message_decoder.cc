#include "source/xds/grpc_message_decoder.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/str_cat.h"

namespace portico::xds {

bool GrpcMessageDecoder::readPrefix(const char* p, size_t& length) {
  const auto* b = reinterpret_cast<const uint8_t*>(p);
  if (b[0] != 0) {
    error_ = absl::UnimplementedError(b[0] == 1 ? "compressed gRPC messages are not supported"
                                                : absl::StrCat("invalid gRPC message flag ", b[0]));
    return false;
  }
  length = (size_t{b[1]} << 24) | (size_t{b[2]} << 16) | (size_t{b[3]} << 8) | b[4];
  if (length > max_message_bytes_) {
    error_ = absl::ResourceExhaustedError(absl::StrCat(
        "gRPC message of ", length, " bytes is over the limit of ", max_message_bytes_));
    return false;
  }
  return true;
}

absl::Status GrpcMessageDecoder::decode(absl::string_view piece,
                                        absl::FunctionRef<bool(absl::string_view)> on_message) {
  if (!error_.ok() || stopped_) return error_;
  // First complete the message carried over from earlier pieces.
  if (!partial_.empty()) {
    if (partial_.size() < kPrefixBytes) {
      const size_t take = std::min(kPrefixBytes - partial_.size(), piece.size());
      partial_.append(piece.data(), take);
      piece.remove_prefix(take);
      if (partial_.size() < kPrefixBytes) return absl::OkStatus();
    }
    size_t length = 0;
    if (!readPrefix(partial_.data(), length)) {
      partial_.clear();
      return error_;
    }
    const size_t missing = kPrefixBytes + length - partial_.size();
    const size_t take = std::min(missing, piece.size());
    partial_.append(piece.data(), take);
    piece.remove_prefix(take);
    if (take < missing) return absl::OkStatus();
    const bool go_on = on_message(absl::string_view(partial_).substr(kPrefixBytes));
    partial_.clear();
    if (partial_.capacity() > kKeptCapacity) std::string().swap(partial_);
    if (!go_on) {
      stopped_ = true;
      return error_;
    }
  }
  // Whole messages straight from the piece.
  while (piece.size() >= kPrefixBytes) {
    size_t length = 0;
    if (!readPrefix(piece.data(), length)) return error_;
    if (piece.size() - kPrefixBytes < length) break;
    if (!on_message(piece.substr(kPrefixBytes, length))) {
      stopped_ = true;
      return error_;
    }
    piece.remove_prefix(kPrefixBytes + length);
  }
  if (!piece.empty()) {
    // A message continues in a later piece; its prefix is known to be valid once complete.
    // (Not reserved from the prefix: five bytes from the peer must not claim the limit.)
    partial_.assign(piece.data(), piece.size());
  }
  return absl::OkStatus();
}

}  // namespace portico::xds
