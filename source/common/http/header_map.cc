#include "source/common/http/header_map.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"

namespace portico::http {

void HeaderMap::add(absl::string_view name, absl::string_view value) {
  HeaderEntry& e = entries_.emplace_back();
  e.name.assign(name.data(), name.size());
  absl::AsciiStrToLower(&e.name);
  e.value.assign(value.data(), value.size());
}

void HeaderMap::set(absl::string_view name, absl::string_view value) {
  remove(name);
  add(name, value);
}

size_t HeaderMap::remove(absl::string_view name) {
  size_t before = entries_.size();
  // Stored names are lower-case, so a case-insensitive compare needs no lower-cased copy.
  auto it = std::remove_if(entries_.begin(), entries_.end(), [&](const HeaderEntry& e) {
    return e.name.size() == name.size() && absl::EqualsIgnoreCase(e.name, name);
  });
  entries_.erase(it, entries_.end());
  return before - entries_.size();
}

const std::string* HeaderMap::get(absl::string_view name) const {
  for (const HeaderEntry& e : entries_) {
    if (e.name == name) return &e.value;
  }
  return nullptr;
}

size_t HeaderMap::byteSize() const {
  size_t n = 0;
  for (const HeaderEntry& e : entries_) n += e.name.size() + e.value.size();
  return n;
}

}  // namespace portico::http
