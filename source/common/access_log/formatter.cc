#include "source/common/access_log/formatter.h"

#include <functional>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "source/common/common/json_escape.h"

namespace portico::access_log {
namespace {

using Piece = std::function<void(const http::StreamInfo&, std::string&)>;

std::string startTime(const http::StreamInfo& info) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromChrono(info.start_time),
                          absl::UTCTimeZone());
}

// A request value; none when it is missing (no request, no such field).
std::optional<absl::string_view> requestValue(const http::StreamInfo& info,
                                              absl::string_view name) {
  if (info.request == nullptr) return std::nullopt;
  if (name == ":method") return info.request->method;
  if (name == ":path") return info.request->path;
  if (name == ":authority") {
    absl::string_view host = info.request->host();
    if (host.empty()) return std::nullopt;  // HTTP/1.0 without Host
    return host;
  }
  const std::string* v = info.request->headers.get(name);
  if (v == nullptr) return std::nullopt;
  return absl::string_view(*v);
}

absl::string_view requestField(const http::StreamInfo& info, absl::string_view name) {
  return requestValue(info, name).value_or("-");
}

absl::string_view responseField(const http::StreamInfo& info, const std::string& name) {
  if (info.response == nullptr) return "-";
  const std::string* v = info.response->headers.get(name);
  return v != nullptr ? absl::string_view(*v) : absl::string_view("-");
}

// "10.0.0.1:5555" (Envoy's %DOWNSTREAM_REMOTE_ADDRESS%) or the address alone; "" if unknown.
std::string downstreamAddress(const http::StreamInfo& info, bool with_port) {
  if (info.downstream_address == nullptr) return "";
  return with_port ? info.downstream_address->asString() : info.downstream_address->ip();
}

// A request or response field in a text line: '"', '\' and bytes outside printable ASCII
// become \xHH, as in nginx's default log escaping, so that a client's header value can neither
// end a quoted field of the format nor write terminal control codes into the file.
void appendTextField(absl::string_view value, std::string& out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char c : value) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b >= 0x7f || c == '"' || c == '\\') {
      const char escaped[4] = {'\\', 'x', kHex[b >> 4], kHex[b & 0xf]};
      out.append(escaped, sizeof(escaped));
    } else {
      out.push_back(c);
    }
  }
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
    return Piece(
        [](const http::StreamInfo& i, std::string& o) { absl::StrAppend(&o, i.response_code); });
  }
  if (command == "RESPONSE_CODE_DETAILS") {
    return Piece([dash](const http::StreamInfo& i, std::string& o) {
      appendTextField(dash(i.response_code_details), o);
    });
  }
  if (command == "BYTES_RECEIVED") {
    return Piece(
        [](const http::StreamInfo& i, std::string& o) { absl::StrAppend(&o, i.bytes_received); });
  }
  if (command == "BYTES_SENT") {
    return Piece(
        [](const http::StreamInfo& i, std::string& o) { absl::StrAppend(&o, i.bytes_sent); });
  }
  if (command == "DURATION") {
    return Piece([](const http::StreamInfo& i, std::string& o) {
      absl::StrAppend(&o, i.duration.count() / 1000);
    });
  }
  if (command == "UPSTREAM_HOST") {
    return Piece([dash](const http::StreamInfo& i, std::string& o) {
      appendTextField(dash(i.upstream_host), o);
    });
  }
  if (command == "ROUTE_NAME") {
    return Piece([dash](const http::StreamInfo& i, std::string& o) {
      appendTextField(dash(i.route_name), o);
    });
  }
  for (bool with_port : {true, false}) {
    if (command ==
        (with_port ? "DOWNSTREAM_REMOTE_ADDRESS" : "DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT")) {
      return Piece([dash, with_port](const http::StreamInfo& i, std::string& o) {
        appendTextField(dash(downstreamAddress(i, with_port)), o);
      });
    }
  }
  for (absl::string_view prefix : {"REQ(", "RESP("}) {
    if (absl::StartsWith(command, prefix) && absl::EndsWith(command, ")")) {
      std::string name =
          absl::AsciiStrToLower(command.substr(prefix.size(), command.size() - prefix.size() - 1));
      if (prefix == "REQ(") {
        return Piece([name](const http::StreamInfo& i, std::string& o) {
          appendTextField(requestField(i, name), o);
        });
      }
      return Piece([name](const http::StreamInfo& i, std::string& o) {
        appendTextField(responseField(i, name), o);
      });
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

class JsonFormatter : public Formatter {
 public:
  void format(const http::StreamInfo& i, std::string& o) const override {
    // A value that is missing (no request, no such field, none chosen) is null, as in
    // Envoy's JSON lines, so that it cannot be mistaken for a field whose value is "-".
    auto key = [&](absl::string_view name) {
      o += ',';
      appendJsonString(name, o);
      o += ':';
    };
    auto value = [&](std::optional<absl::string_view> v) {
      if (v.has_value()) {
        appendJsonString(*v, o);
      } else {
        o += "null";
      }
    };
    auto optional = [&](absl::string_view name, absl::string_view v) {
      key(name);
      value(v.empty() ? std::nullopt : std::optional<absl::string_view>(v));
    };
    auto request = [&](absl::string_view name, absl::string_view field) {
      key(name);
      value(requestValue(i, field));
    };
    o += "{\"start_time\":";
    appendJsonString(startTime(i), o);
    request("method", ":method");
    request("path", ":path");
    request("authority", ":authority");
    absl::StrAppend(&o, ",\"response_code\":", i.response_code,
                    ",\"bytes_received\":", i.bytes_received, ",\"bytes_sent\":", i.bytes_sent,
                    ",\"duration_ms\":", i.duration.count() / 1000);
    optional("response_code_details", i.response_code_details);
    optional("upstream_host", i.upstream_host);
    optional("route_name", i.route_name);
    optional("downstream_address", downstreamAddress(i, true));
    request("request_id", "x-request-id");
    request("user_agent", "user-agent");
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

absl::StatusOr<std::unique_ptr<Formatter>> createFormatterFor(bool has_path, bool json,
                                                              const std::string& format,
                                                              const std::string& field) {
  if (json && !format.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".format: is for text lines; json lines have a fixed set of fields"));
  }
  if (!has_path) {
    if (json || !format.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".path: must be set when json or format is"));
    }
    return std::unique_ptr<Formatter>();
  }
  if (json) return createJsonFormatter();
  auto text = createTextFormatter(format.empty() ? kDefaultFormat : format);
  if (!text.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ".format: ", text.status().message()));
  }
  return std::move(*text);
}

std::unique_ptr<Formatter> createJsonFormatter() { return std::make_unique<JsonFormatter>(); }

}  // namespace portico::access_log
