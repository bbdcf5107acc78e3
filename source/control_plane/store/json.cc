#include "source/control_plane/store/json.h"

#include "absl/strings/str_cat.h"
#include "source/common/common/json_escape.h"

namespace portico::control_plane::json {

std::string quote(absl::string_view s) {
  // The data plane's escaper: invalid UTF-8 (a client's bytes in an error message) is escaped
  // too, so every answer is valid JSON.
  return jsonString(s);
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
