#include "source/common/http/header_map.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"

namespace portico::http {

namespace {
// Lower-cases the bytes of a word that are 'A'-'Z' and leaves the others alone. Per byte,
// without carries between bytes: bit 7 of `ge_a` is set for b >= 'A', of `gt_z` for b > 'Z'
// (low 7 bits only; bytes >= 0x80 are masked out by `ascii`).
template <class Word>
Word lowerWord(Word w) {
  constexpr Word kOnes = static_cast<Word>(0x0101010101010101ULL);
  const Word low7 = w & (0x7f * kOnes);
  const Word ge_a = low7 + (0x80 - 'A') * kOnes;
  const Word gt_z = low7 + (0x7f - 'Z') * kOnes;
  const Word ascii = ~w & (0x80 * kOnes);
  return w | (((ge_a ^ gt_z) & ascii) >> 2);  // 0x80 >> 2 = 0x20, the case bit
}

template <class Word>
void lowerAt(char* d, const char* s) {
  Word w;
  memcpy(&w, s, sizeof(w));
  w = lowerWord(w);
  memcpy(d, &w, sizeof(w));
}

// Lower-cases while copying (header names are ASCII tokens; other bytes are left alone).
// Whole words: this runs for every header of every message. A tail shorter than a word is
// done as one more word ending at the last byte, overlapping bytes already done (lower-casing
// is idempotent, and the source is not the destination).
void assignLower(std::string& out, absl::string_view in) {
  const size_t n = in.size();
  out.resize(n);
  char* d = out.data();
  const char* s = in.data();
  if (n >= 8) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) lowerAt<uint64_t>(d + i, s + i);
    if (i < n) lowerAt<uint64_t>(d + n - 8, s + n - 8);
  } else if (n >= 4) {
    lowerAt<uint32_t>(d, s);
    lowerAt<uint32_t>(d + n - 4, s + n - 4);
  } else {
    for (size_t i = 0; i < n; i++) {
      const char c = s[i];
      d[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c;
    }
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
