#pragma once

// Plain message heads: a one-pass parser for the common HTTP/1.1 head, used before llhttp.
//
// Most heads a proxy sees are plain: HTTP/1.1 (or 1.0 with keep-alive), a known method and an
// origin-form target, or a 2xx-5xx status with Content-Length, and printable ASCII fields.
// llhttp walks them byte by byte through callbacks and copies; this takes each line in one
// pass that checks sixteen bytes at a time: about half the instructions per head.
//
// It accepts only heads that llhttp accepts with the same meaning, and declines everything
// else: heads not whole in the input, leading empty lines, Transfer-Encoding, Upgrade,
// Proxy-Connection, any Connection value but "keep-alive", a close-delimited or 1xx response,
// tabs or bytes outside 0x20-0x7E, other methods or targets. A declined head goes to llhttp,
// which stays the authority on errors and unusual forms. The fuzz targets check that both
// parsers report the same (test/fuzz/http1_plain_head_fuzz.cc).

#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "source/common/http/header_map.h"

namespace portico::http::http1 {

struct PlainHead {
  size_t bytes = 0;                 // the head's length, through the empty line's CRLF
  absl::string_view method;         // requests: a static string
  absl::string_view target;         // requests: a view into the input
  uint16_t status = 0;              // responses: 200-599
  absl::string_view reason;         // responses: a view into the input
  int minor_version = 1;            // 0 or 1 (HTTP/1.0 only with "Connection: keep-alive")
  bool has_content_length = false;  // required for responses
  uint64_t content_length = 0;
  uint32_t fields = 0;
};

// Parses the head at the start of `data`; its fields are added to `headers` (which may hold a
// partial list when it declines). Returns false to decline.
bool parsePlainRequestHead(absl::string_view data, HeaderMap& headers, PlainHead& head);
bool parsePlainResponseHead(absl::string_view data, HeaderMap& headers, PlainHead& head);

}  // namespace portico::http::http1
