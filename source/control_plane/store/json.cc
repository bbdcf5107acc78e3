#include "source/control_plane/store/json.h"

#include <cstdio>

#include "absl/strings/str_cat.h"

namespace portico::control_plane::json {

std::string quote(absl::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

std::string indent(absl::string_view text, int spaces) {
  std::string pad(spaces, ' ');
  std::string out;
  for (char c : text) {
    out += c;
    if (c == '\n') out += pad;
  }
  return out;
}

void ObjectWriter::key(absl::string_view k) {
  if (!first_) out_ += ",";
  first_ = false;
  if (pretty_) absl::StrAppend(&out_, "\n", std::string(depth_ + 2, ' '));
  absl::StrAppend(&out_, quote(k), pretty_ ? ": " : ":");
}

ObjectWriter& ObjectWriter::string(absl::string_view k, absl::string_view value) {
  key(k);
  out_ += quote(value);
  return *this;
}

ObjectWriter& ObjectWriter::number(absl::string_view k, double value) {
  key(k);
  char buf[32];
  snprintf(buf, sizeof(buf), "%.6g", value);
  out_ += buf;
  return *this;
}

ObjectWriter& ObjectWriter::integer(absl::string_view k, int64_t value) {
  key(k);
  absl::StrAppend(&out_, value);
  return *this;
}

ObjectWriter& ObjectWriter::boolean(absl::string_view k, bool value) {
  key(k);
  out_ += value ? "true" : "false";
  return *this;
}

ObjectWriter& ObjectWriter::raw(absl::string_view k, absl::string_view json) {
  key(k);
  absl::StrAppend(&out_, json);
  return *this;
}

std::string ObjectWriter::finish() {
  if (pretty_ && !first_) absl::StrAppend(&out_, "\n", std::string(depth_, ' '));
  return out_ + "}";
}

ArrayWriter& ArrayWriter::raw(absl::string_view json) {
  if (!first_) out_ += ",";
  first_ = false;
  absl::StrAppend(&out_, json);
  return *this;
}

}  // namespace portico::control_plane::json
