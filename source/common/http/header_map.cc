#include "source/common/http/header_map.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"

namespace portico::http {

namespace {
// Lower-cases while copying (header names are ASCII tokens; other bytes are left alone).
void assignLower(std::string& out, absl::string_view in) {
  out.resize(in.size());
  char* d = out.data();
  for (size_t i = 0; i < in.size(); i++) {
    char c = in[i];
    d[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c;
  }
}
}  // namespace

void HeaderMap::add(absl::string_view name, absl::string_view value) {
  if (size_ == entries_.size()) entries_.emplace_back();
  HeaderEntry& e = entries_[size_++];
  assignLower(e.name, name);
  e.value.assign(value.data(), value.size());
}

void HeaderMap::set(absl::string_view name, absl::string_view value) {
  remove(name);
  add(name, value);
}

size_t HeaderMap::remove(absl::string_view name) {
  size_t before = size_;
  // Stored names are lower-case, so a case-insensitive compare needs no lower-cased copy.
  removeIf([&](const HeaderEntry& e) {
    return e.name.size() == name.size() && absl::EqualsIgnoreCase(e.name, name);
  });
  return before - size_;
}

const std::string* HeaderMap::get(absl::string_view name) const {
  for (const HeaderEntry& e : *this) {
    if (e.name == name) return &e.value;
  }
  return nullptr;
}

size_t HeaderMap::byteSize() const {
  size_t n = 0;
  for (const HeaderEntry& e : *this) n += e.name.size() + e.value.size();
  return n;
}

}  // namespace portico::http
