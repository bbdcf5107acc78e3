#include "source/common/http/header_map.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"

namespace portico::http {

namespace {
// Lower-cases while copying (header names are ASCII tokens; other bytes are left alone).
// Eight bytes at a time: this runs for every header of every message.
void assignLower(std::string& out, absl::string_view in) {
  out.resize(in.size());
  char* d = out.data();
  const char* s = in.data();
  size_t i = 0;
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  for (; i + 8 <= in.size(); i += 8) {
    uint64_t w;
    memcpy(&w, s + i, 8);
    // Per byte, without carries between bytes: bit 7 of `ge_a` is set for b >= 'A', of
    // `gt_z` for b > 'Z' (low 7 bits only; bytes >= 0x80 are masked out by `ascii`).
    const uint64_t low7 = w & (0x7f * kOnes);
    const uint64_t ge_a = low7 + (0x80 - 'A') * kOnes;
    const uint64_t gt_z = low7 + (0x7f - 'Z') * kOnes;
    const uint64_t ascii = ~w & (0x80 * kOnes);
    w |= ((ge_a ^ gt_z) & ascii) >> 2;  // 0x80 >> 2 = 0x20, the case bit
    memcpy(d + i, &w, 8);
  }
  for (; i < in.size(); i++) {
    char c = s[i];
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
