#pragma once

// Serialises HTTP/1.1 heads and body framing into a Buffer.

#include <cstdint>

#include "absl/strings/string_view.h"
#include "source/common/buffer/buffer.h"
#include "source/common/http/header_map.h"

namespace portico::http::http1 {

enum class BodyFraming {
  kNone,            // no body follows the head
  kContentLength,   // exactly Content-Length bytes
  kChunked,         // chunked transfer coding
  kCloseDelimited,  // body ends when the connection closes (HTTP/1.0 peers)
};

// Writes "name: value\r\n" for every header (no terminating empty line), leaving out fields
// called `skip` (lower-case) when it is not empty.
void encodeHeaderFields(const HeaderMap& headers, buffer::Buffer& out, absl::string_view skip = {});

// Writes one body piece with the given framing; for kChunked an empty piece with end_stream
// writes the last-chunk.
void encodeBody(BodyFraming framing, absl::string_view data, bool end_stream, buffer::Buffer& out);
// The same for a buffered piece: moves `data` into `out` (whole slices change hands, no copy);
// `data` is empty afterwards.
void encodeBody(BodyFraming framing, buffer::Buffer& data, bool end_stream, buffer::Buffer& out);

// Writes "HTTP/1.1 <status> <reason>\r\n" (the standard phrase when `reason` is empty).
void encodeStatusLine(int status, absl::string_view reason, buffer::Buffer& out);

// Status reason phrases for local replies and for upstreams that send none.
absl::string_view reasonPhrase(int status);

}  // namespace portico::http::http1
