#include "source/common/http/http1/encoder.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace portico::http::http1 {

void encodeHead(std::initializer_list<absl::string_view> start_line, const HeaderMap& headers,
                absl::string_view skip, std::initializer_list<absl::string_view> extra_fields,
                buffer::Buffer& out) {
  const auto skipped = [skip](const HeaderEntry& e) { return !skip.empty() && e.name == skip; };
  size_t total = 4;  // the start line's CRLF and the empty line
  for (absl::string_view piece : start_line) total += piece.size();
  for (absl::string_view line : extra_fields) total += line.size();
  for (const HeaderEntry& e : headers) {
    if (!skipped(e)) total += e.name.size() + e.value.size() + 4;
  }
  if (total > buffer::Slice::kSize) {  // a head this large goes piece by piece
    for (absl::string_view piece : start_line) out.add(piece);
    out.add("\r\n", 2);
    for (const HeaderEntry& e : headers) {
      if (!skipped(e)) out.addPieces({e.name, ": ", e.value, "\r\n"});
    }
    for (absl::string_view line : extra_fields) out.add(line);
    out.add("\r\n", 2);
    return;
  }
  uint8_t* p = out.writableTail(total).data();
  const auto put = [&p](const char* data, size_t n) {
    if (n == 0) return;  // an empty value's data() may be null, which memcpy may not take
    memcpy(p, data, n);
    p += n;
  };
  for (absl::string_view piece : start_line) put(piece.data(), piece.size());
  put("\r\n", 2);
  for (const HeaderEntry& e : headers) {
    if (skipped(e)) continue;
    put(e.name.data(), e.name.size());
    put(": ", 2);
    put(e.value.data(), e.value.size());
    put("\r\n", 2);
  }
  for (absl::string_view line : extra_fields) put(line.data(), line.size());
  put("\r\n", 2);
  out.commitTail(total);
}

StatusLineStart statusLineStart(int status) {
  StatusLineStart start;
  memcpy(start.chars, "HTTP/1.1 000 ", sizeof(start.chars));
  if (status < 100 || status > 999) status = 502;
  start.status = status;
  start.chars[9] = static_cast<char>('0' + status / 100);
  start.chars[10] = static_cast<char>('0' + status / 10 % 10);
  start.chars[11] = static_cast<char>('0' + status % 10);
  return start;
}

namespace {
// "<hex size>\r\n", written by hand (this runs per body piece).
void addChunkSize(size_t size, buffer::Buffer& out) {
  char size_line[20];
  char* end = size_line + sizeof(size_line);
  char* p = end;
  *--p = '\n';
  *--p = '\r';
  do {
    *--p = "0123456789abcdef"[size & 0xf];
    size >>= 4;
  } while (size != 0);
  out.add(p, static_cast<size_t>(end - p));
}
}  // namespace

void encodeBody(BodyFraming framing, absl::string_view data, bool end_stream, buffer::Buffer& out) {
  switch (framing) {
    case BodyFraming::kNone:
      return;
    case BodyFraming::kContentLength:
    case BodyFraming::kCloseDelimited:
      out.add(data);
      return;
    case BodyFraming::kChunked:
      if (!data.empty()) {
        addChunkSize(data.size(), out);
        out.add(data);
        out.add("\r\n", 2);
      }
      if (end_stream) out.add("0\r\n\r\n", 5);
      return;
  }
}

void encodeBody(BodyFraming framing, buffer::Buffer& data, bool end_stream, buffer::Buffer& out) {
  switch (framing) {
    case BodyFraming::kNone:
      data.clear();
      return;
    case BodyFraming::kContentLength:
    case BodyFraming::kCloseDelimited:
      out.move(data);
      return;
    case BodyFraming::kChunked:
      if (data.length() > 0) {
        addChunkSize(data.length(), out);
        out.move(data);
        out.add("\r\n", 2);
      }
      if (end_stream) out.add("0\r\n\r\n", 5);
      return;
  }
}

absl::string_view reasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 103:
      return "Early Hints";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 413:
      return "Payload Too Large";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Unknown";
  }
}

}  // namespace portico::http::http1
