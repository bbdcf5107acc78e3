#pragma once

// Small JSON writers for the REST API and the fleet view (objects are built field by field;
// values that are already JSON go in with raw()).

#include <string>

#include "absl/strings/string_view.h"

namespace portico::control_plane::json {

// `s` as a quoted JSON string.
std::string quote(absl::string_view s);
// Adds `spaces` of indentation after every newline of `text` (nesting pretty output).
std::string indent(absl::string_view text, int spaces);

class ObjectWriter {
 public:
  // `pretty`: one field per line, indented by `depth` + 2 spaces.
  explicit ObjectWriter(bool pretty = false, int depth = 0) : pretty_(pretty), depth_(depth) {}
  ObjectWriter& string(absl::string_view key, absl::string_view value);
  ObjectWriter& integer(absl::string_view key, int64_t value);
  ObjectWriter& boolean(absl::string_view key, bool value);
  ObjectWriter& raw(absl::string_view key, absl::string_view json);
  std::string finish();

 private:
  void key(absl::string_view k);
  bool pretty_;
  int depth_;
  std::string out_ = "{";
  bool first_ = true;
};

class ArrayWriter {
 public:
  ArrayWriter& raw(absl::string_view json);
  ArrayWriter& string(absl::string_view value) { return raw(quote(value)); }
  std::string finish() { return out_ + "]"; }

 private:
  std::string out_ = "[";
  bool first_ = true;
};

}  // namespace portico::control_plane::json
