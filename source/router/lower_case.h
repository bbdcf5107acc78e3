#pragma once

// Lower-cases a string for case-insensitive lookups without touching the heap in the common
// case: hosts and paths on the request path are short, so they fit an inline buffer.

#include <cstddef>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/string_view.h"

namespace portico::router {

class LowerCased {
 public:
  explicit LowerCased(absl::string_view in) {
    char* out = inline_;
    if (in.size() > sizeof(inline_)) {
      heap_.resize(in.size());
      out = heap_.data();
    }
    for (size_t i = 0; i < in.size(); ++i) out[i] = absl::ascii_tolower(in[i]);
    view_ = absl::string_view(out, in.size());
  }
  LowerCased(const LowerCased&) = delete;
  LowerCased& operator=(const LowerCased&) = delete;

  absl::string_view view() const { return view_; }

 private:
  char inline_[512];
  std::string heap_;  // only for inputs longer than inline_
  absl::string_view view_;
};

}  // namespace portico::router
