#pragma once

// RE2 compilation for config regexes, and the literal prefix the route index keys them by.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "re2/re2.h"

namespace portico::router {

// Per pattern: RE2's memory budget (program and DFA caches), and the largest program accepted
// (Envoy's max_program_size defaults to 100; ordinary route patterns stay well under 1000).
inline constexpr int64_t kRegexMaxMemBytes = 1 << 20;
inline constexpr int kRegexMaxProgramSize = 1000;

// Compiles `pattern` once at config time; the error names `field_path`
// ("<path>: invalid RE2: missing ): (abc"). Patterns over the limits above are refused.
absl::StatusOr<std::unique_ptr<const RE2>> compileRegex(absl::string_view pattern,
                                                        bool case_sensitive,
                                                        absl::string_view field_path);

// A prefix that every string fully matched by `re` starts with ("" when there is none). Derived
// from RE2::PossibleMatchRange: any match s satisfies min <= s <= max, so s must share the common
// prefix of min and max.
std::string requiredPrefix(const RE2& re);

// RE2 takes its own StringPiece; Abseil's string_view is not std::string_view in this build.
inline re2::StringPiece toPiece(absl::string_view s) {
  return re2::StringPiece(s.data(), s.size());
}

inline bool fullMatch(const RE2& re, absl::string_view s) { return RE2::FullMatch(toPiece(s), re); }

}  // namespace portico::router
