#include "source/common/http/http1/encoder.h"

#include "absl/strings/str_cat.h"

namespace portico::http::http1 {

void encodeHeaderFields(const HeaderMap& headers, buffer::Buffer& out) {
  for (const HeaderEntry& e : headers) {
    out.add(e.name);
    out.add(": ", 2);
    out.add(e.value);
    out.add("\r\n", 2);
  }
}

void encodeBody(BodyFraming framing, absl::string_view data, bool end_stream,
                buffer::Buffer& out) {
  switch (framing) {
    case BodyFraming::kNone:
      return;
    case BodyFraming::kContentLength:
    case BodyFraming::kCloseDelimited:
      out.add(data);
      return;
    case BodyFraming::kChunked: {
      if (!data.empty()) {
        char size_line[24];
        int n = snprintf(size_line, sizeof(size_line), "%zx\r\n", data.size());
        out.add(size_line, static_cast<size_t>(n));
        out.add(data);
        out.add("\r\n", 2);
      }
      if (end_stream) out.add("0\r\n\r\n", 5);
      return;
    }
  }
}

absl::string_view reasonPhrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 103: return "Early Hints";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Unknown";
  }
}

}  // namespace portico::http::http1
