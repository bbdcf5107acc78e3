#pragma once

// Serialises HTTP/1.1 heads and body framing into a Buffer.

#include <cstdint>
#include <initializer_list>

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

// Writes a whole head: the start line (its pieces, without the CRLF), "name: value\r\n" for
// every header field except those called `skip` (lower-case; none when empty), the codec's own
// `extra_fields` (whole lines), and the empty line. A head that fits in a slice is sized first
// and written as one run with plain stores: this runs twice per request.
void encodeHead(std::initializer_list<absl::string_view> start_line, const HeaderMap& headers,
                absl::string_view skip, std::initializer_list<absl::string_view> extra_fields,
                buffer::Buffer& out);

// "HTTP/1.1 <status> ", the start of a status line. A status outside 100-999 is written as
// 502 (the client codec refuses those); `status` is the one written.
struct StatusLineStart {
  int status;
  char chars[13];
  absl::string_view view() const { return absl::string_view(chars, sizeof(chars)); }
};
StatusLineStart statusLineStart(int status);

// Writes one body piece with the given framing; for kChunked an empty piece with end_stream
// writes the last-chunk.
void encodeBody(BodyFraming framing, absl::string_view data, bool end_stream, buffer::Buffer& out);
// The same for a buffered piece: moves `data` into `out` (whole slices change hands, no copy);
// `data` is empty afterwards.
void encodeBody(BodyFraming framing, buffer::Buffer& data, bool end_stream, buffer::Buffer& out);

// Status reason phrases for local replies and for upstreams that send none.
absl::string_view reasonPhrase(int status);

}  // namespace portico::http::http1
