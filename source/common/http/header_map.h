#pragma once

// HeaderMap: an ordered list of HTTP header fields with lower-case names.
//
// Invariants: names are stored lower-case (HTTP field names are case-insensitive, RFC 9110
// 5.1); values are stored as received minus surrounding whitespace; order of insertion is kept
// so that repeated fields (e.g. set-cookie) are forwarded in order. Lookups are linear: typical
// requests carry 5-20 headers, where a scan over a small inline vector beats hashing.

#include <string>
#include <utility>

#include "absl/container/inlined_vector.h"
#include "absl/strings/string_view.h"

namespace portico::http {

struct HeaderEntry {
  std::string name;  // lower-case
  std::string value;
};

class HeaderMap {
 public:
  // 6 inline entries hold an API client's request once the proxy has added x-forwarded-for,
  // x-forwarded-proto and x-request-id; bigger heads spill to the heap once per connection
  // (the map keeps its entries between messages). Each idle keep-alive connection carries one
  // map, so this is per-connection memory (6 x 64 bytes).
  using Entries = absl::InlinedVector<HeaderEntry, 6>;

  // Appends a field; `name` is lower-cased.
  void add(absl::string_view name, absl::string_view value);
  // Removes every field for which pred(entry) is true, in one pass.
  template <class Pred>
  void removeIf(Pred pred) {
    // Move kept entries forward. No string is freed: a string moved onto another keeps or
    // trades heap buffers (libstdc++ hands the target's old buffer to the source), so every
    // buffer stays with some entry, and the moved-from tail entries become spares.
    size_t kept = 0;
    for (size_t i = 0; i < size_; i++) {
      if (pred(static_cast<const HeaderEntry&>(entries_[i]))) continue;
      if (kept != i) entries_[kept] = std::move(entries_[i]);
      kept++;
    }
    size_ = kept;
  }
  // Replaces every field called `name` with one field.
  void set(absl::string_view name, absl::string_view value);
  // Removes every field called `name`; returns how many were removed.
  size_t remove(absl::string_view name);
  // The first value of `name`, or nullptr. `name` must be lower-case.
  const std::string* get(absl::string_view name) const;
  bool contains(absl::string_view name) const { return get(name) != nullptr; }
  // Calls f(value) for every field called `name`, in order.
  template <class F>
  void forEachValue(absl::string_view name, F f) const {
    for (const HeaderEntry& e : *this) {
      if (e.name == name) f(e.value);
    }
  }

  size_t size() const { return size_; }
  // The field at `index` (< size()). Its value may be edited in place; its name may not (names
  // stay lower-case).
  const HeaderEntry& operator[](size_t index) const { return entries_[index]; }
  std::string& valueAt(size_t index) { return entries_[index].value; }
  bool empty() const { return size_ == 0; }
  // Empties the map but keeps the entries' strings as spares: a codec parses every message
  // into the same map, so the next message's fields reuse their memory instead of allocating.
  // Spares never outnumber the largest message seen, which the head limits already bound.
  void clear() { size_ = 0; }
  Entries::const_iterator begin() const { return entries_.begin(); }
  Entries::const_iterator end() const { return entries_.begin() + size_; }
  // Sum of name and value lengths; used for limits.
  size_t byteSize() const;

 private:
  Entries entries_;  // [0, size_) are the fields; the rest are spares
  size_t size_ = 0;
};

// The parts of a request head the router and filters look at. `path` includes the query.
struct RequestHead {
  std::string method;
  std::string path;
  HeaderMap headers;
  // HTTP/1.x minor version (0 or 1).
  int minor_version = 1;

  // The authority: the Host header, or empty.
  absl::string_view host() const {
    const std::string* h = headers.get("host");
    return h != nullptr ? absl::string_view(*h) : absl::string_view();
  }
};

struct ResponseHead {
  int status = 0;
  std::string reason;
  HeaderMap headers;
  int minor_version = 1;
};

}  // namespace portico::http
