#include "source/common/http/http1/encoder.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace portico::http::http1 {

void encodeHeaderFields(const HeaderMap& headers, buffer::Buffer& out, absl::string_view skip) {
  size_t total = 0;
  for (const HeaderEntry& e : headers) {
    if (!skip.empty() && e.name == skip) continue;
    total += e.name.size() + e.value.size() + 4;
  }
  if (total > buffer::Slice::kSize) {  // a head this large goes line by line
    for (const HeaderEntry& e : headers) {
      if (!skip.empty() && e.name == skip) continue;
      out.addPieces({e.name, ": ", e.value, "\r\n"});
    }
    return;
  }
  // Every line of the block written in place into one run (this runs twice per request).
  uint8_t* p = out.writableTail(total).data();
  for (const HeaderEntry& e : headers) {
    if (!skip.empty() && e.name == skip) continue;
    memcpy(p, e.name.data(), e.name.size());
    p += e.name.size();
    memcpy(p, ": ", 2);
    p += 2;
    memcpy(p, e.value.data(), e.value.size());
    p += e.value.size();
    memcpy(p, "\r\n", 2);
    p += 2;
  }
  out.commitTail(total);
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

void encodeStatusLine(int status, absl::string_view reason, buffer::Buffer& out) {
  char line[16] = "HTTP/1.1 000 ";
  if (status < 100 || status > 999) status = 502;  // the client codec refuses these
  line[9] = static_cast<char>('0' + status / 100);
  line[10] = static_cast<char>('0' + status / 10 % 10);
  line[11] = static_cast<char>('0' + status % 10);
  out.add(line, 13);
  out.add(reason.empty() ? reasonPhrase(status) : reason);
  out.add("\r\n", 2);
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
