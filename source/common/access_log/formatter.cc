#include "source/common/access_log/formatter.h"

#include <functional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace portico::access_log {
namespace {

using Piece = std::function<void(const http::StreamInfo&, std::string&)>;

std::string startTime(const http::StreamInfo& info) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromChrono(info.start_time),
                          absl::UTCTimeZone());
}

absl::string_view requestField(const http::StreamInfo& info, const std::string& name) {
  if (info.request == nullptr) return "-";
  if (name == ":method") return info.request->method;
  if (name == ":path") return info.request->path;
  if (name == ":authority") {
    absl::string_view host = info.request->host();
    return host.empty() ? absl::string_view("-") : host;
  }
  const std::string* v = info.request->headers.get(name);
  return v != nullptr ? absl::string_view(*v) : absl::string_view("-");
}

absl::string_view responseField(const http::StreamInfo& info, const std::string& name) {
  if (info.response == nullptr) return "-";
  const std::string* v = info.response->headers.get(name);
  return v != nullptr ? absl::string_view(*v) : absl::string_view("-");
}

absl::StatusOr<Piece> compileCommand(const std::string& command) {
  auto dash = [](absl::string_view s) { return s.empty() ? absl::string_view("-") : s; };
  if (command == "START_TIME") {
    return Piece([](const http::StreamInfo& i, std::string& o) { o += startTime(i); });
  }
  if (command == "PROTOCOL") {
    return Piece([](const http::StreamInfo& i, std::string& o) {
      o += i.request != nullptr && i.request->minor_version == 0 ? "HTTP/1.0" : "HTTP/1.1";
    });
  }
  if (command == "RESPONSE_CODE") {
    return Piece([](const http::StreamInfo& i, std::string& o) { absl::StrAppend(&o, i.response_code); });
  }
  if (command == "RESPONSE_CODE_DETAILS") {
    return Piece([dash](const http::StreamInfo& i, std::string& o) { absl::StrAppend(&o, dash(i.response_code_details)); });
  }
  if (command == "BYTES_RECEIVED") {
    return Piece([](const http::StreamInfo& i, std::string& o) { absl::StrAppend(&o, i.bytes_received); });
  }
  if (command == "BYTES_SENT") {
    return Piece([](const http::StreamInfo& i, std::string& o) { absl::StrAppend(&o, i.bytes_sent); });
  }
  if (command == "DURATION") {
    return Piece([](const http::StreamInfo& i, std::string& o) { absl::StrAppend(&o, i.duration.count() / 1000); });
  }
  if (command == "UPSTREAM_HOST") {
    return Piece([dash](const http::StreamInfo& i, std::string& o) { absl::StrAppend(&o, dash(i.upstream_host)); });
  }
  if (command == "ROUTE_NAME") {
    return Piece([dash](const http::StreamInfo& i, std::string& o) { absl::StrAppend(&o, dash(i.route_name)); });
  }
  if (command == "DOWNSTREAM_REMOTE_ADDRESS") {
    return Piece([dash](const http::StreamInfo& i, std::string& o) { absl::StrAppend(&o, dash(i.downstream_address)); });
  }
  for (absl::string_view prefix : {"REQ(", "RESP("}) {
    if (absl::StartsWith(command, prefix) && absl::EndsWith(command, ")")) {
      std::string name = absl::AsciiStrToLower(
          command.substr(prefix.size(), command.size() - prefix.size() - 1));
      if (prefix == "REQ(") {
        return Piece([name](const http::StreamInfo& i, std::string& o) { absl::StrAppend(&o, requestField(i, name)); });
      }
      return Piece([name](const http::StreamInfo& i, std::string& o) { absl::StrAppend(&o, responseField(i, name)); });
    }
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown access log command %", command, "%"));
}

class TextFormatter : public Formatter {
 public:
  explicit TextFormatter(std::vector<Piece> pieces) : pieces_(std::move(pieces)) {}
  void format(const http::StreamInfo& info, std::string& out) const override {
    for (const Piece& p : pieces_) p(info, out);
  }

 private:
  std::vector<Piece> pieces_;
};

// Length of the valid UTF-8 sequence at s[i], or 0.
size_t utf8SequenceLength(absl::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  size_t n = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c <= 0xdf ? 2 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; k++) {
    if ((b(i + k) & 0xc0) != 0x80) return 0;
  }
  return n;
}

// JSON string; control characters and bytes that are not valid UTF-8 (obs-text from
// clients) are escaped as \u00XX, so every line is valid UTF-8 JSON.
void appendJsonString(absl::string_view s, std::string& out) {
  out += '"';
  for (size_t i = 0; i < s.size(); i++) {
    const char c = s[i];
    const unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u >= 0x80) {
      size_t n = utf8SequenceLength(s, i);
      if (n > 0) {
        out.append(s.data() + i, n);
        i += n - 1;
        continue;
      }
      char buf[8];
      snprintf(buf, sizeof(buf), "\\u%04x", u);
      out += buf;
    } else if (u < 0x20) {
      char buf[8];
      snprintf(buf, sizeof(buf), "\\u%04x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  out += '"';
}

class JsonFormatter : public Formatter {
 public:
  void format(const http::StreamInfo& i, std::string& o) const override {
    auto field = [&](absl::string_view key, absl::string_view value, bool first = false) {
      if (!first) o += ',';
      appendJsonString(key, o);
      o += ':';
      appendJsonString(value, o);
    };
    o += '{';
    field("start_time", startTime(i), true);
    field("method", requestField(i, ":method"));
    field("path", requestField(i, ":path"));
    field("authority", requestField(i, ":authority"));
    absl::StrAppend(&o, ",\"response_code\":", i.response_code, ",\"bytes_received\":",
                    i.bytes_received, ",\"bytes_sent\":", i.bytes_sent,
                    ",\"duration_ms\":", i.duration.count() / 1000);
    field("response_code_details", i.response_code_details);
    field("upstream_host", i.upstream_host);
    field("route_name", i.route_name);
    field("downstream_address", i.downstream_address);
    field("request_id", requestField(i, "x-request-id"));
    field("user_agent", requestField(i, "user-agent"));
    o += "}\n";
  }
};

}  // namespace

absl::StatusOr<std::unique_ptr<Formatter>> createTextFormatter(const std::string& format) {
  std::vector<Piece> pieces;
  size_t pos = 0;
  while (pos < format.size()) {
    size_t start = format.find('%', pos);
    if (start == std::string::npos) {
      std::string literal = format.substr(pos);
      pieces.push_back([literal](const http::StreamInfo&, std::string& o) { o += literal; });
      break;
    }
    if (start > pos) {
      std::string literal = format.substr(pos, start - pos);
      pieces.push_back([literal](const http::StreamInfo&, std::string& o) { o += literal; });
    }
    size_t end = format.find('%', start + 1);
    if (end == std::string::npos) {
      return absl::InvalidArgumentError("unterminated % command in access log format");
    }
    auto piece = compileCommand(format.substr(start + 1, end - start - 1));
    if (!piece.ok()) return piece.status();
    pieces.push_back(std::move(*piece));
    pos = end + 1;
  }
  if (format.empty() || format.back() != '\n') {
    pieces.push_back([](const http::StreamInfo&, std::string& o) { o += '\n'; });
  }
  return std::unique_ptr<Formatter>(new TextFormatter(std::move(pieces)));
}

std::unique_ptr<Formatter> createJsonFormatter() { return std::make_unique<JsonFormatter>(); }

}  // namespace portico::access_log
