#pragma once

// RouteMatch.path_specifier: prefix, exact path or RE2 full match, on the path without its query.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "portico/config/v1/route.pb.h"
#include "re2/re2.h"

namespace portico::router {

class PathMatcher {
 public:
  enum class Kind { kPrefix, kExact, kRegex };

  // Refuses a RouteMatch without path_specifier or with an invalid regex. case_sensitive: false
  // also applies to safe_regex (compiled case-insensitively).
  static absl::StatusOr<PathMatcher> create(const config::v1::RouteMatch& config,
                                            absl::string_view field_path);

  // `path`: the request path without query.
  bool matches(absl::string_view path) const;

  Kind kind() const { return kind_; }
  bool caseSensitive() const { return case_sensitive_; }
  // The prefix or exact path as configured; the pattern for regexes.
  const std::string& text() const { return text_; }
  // Every matching path starts with this; compare it with the lower-cased path when
  // indexKeyFolded(). Used by the route index.
  const std::string& indexKey() const { return index_key_; }
  // A case-insensitive regex yields an already case-proof key ("/FOO".."/foo" -> "/"), so only
  // prefix and exact keys are folded.
  bool indexKeyFolded() const { return kind_ != Kind::kRegex && !case_sensitive_; }

 private:
  PathMatcher(Kind kind, bool case_sensitive, std::string text, std::string index_key,
              std::unique_ptr<const RE2> regex)
      : kind_(kind),
        case_sensitive_(case_sensitive),
        text_(std::move(text)),
        index_key_(std::move(index_key)),
        regex_(std::move(regex)) {}

  Kind kind_;
  bool case_sensitive_;
  std::string text_;
  std::string index_key_;
  std::unique_ptr<const RE2> regex_;
};

}  // namespace portico::router
