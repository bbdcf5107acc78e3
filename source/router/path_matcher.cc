#include "source/router/path_matcher.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "source/router/config_error.h"
#include "source/router/regex.h"

namespace portico::router {

absl::StatusOr<PathMatcher> PathMatcher::create(const config::v1::RouteMatch& config,
                                                absl::string_view field_path) {
  using Proto = config::v1::RouteMatch;
  const bool cs = !config.has_case_sensitive() || config.case_sensitive();
  switch (config.path_specifier_case()) {
    case Proto::kPrefix:
      return PathMatcher(Kind::kPrefix, cs, config.prefix(),
                         cs ? config.prefix() : absl::AsciiStrToLower(config.prefix()), nullptr);
    case Proto::kPath:
      return PathMatcher(Kind::kExact, cs, config.path(),
                         cs ? config.path() : absl::AsciiStrToLower(config.path()), nullptr);
    case Proto::kSafeRegex: {
      auto re = compileRegex(config.safe_regex(), cs, fieldPath(field_path, "safe_regex"));
      if (!re.ok()) return re.status();
      std::string key = requiredPrefix(**re);
      return PathMatcher(Kind::kRegex, cs, config.safe_regex(), std::move(key), std::move(*re));
    }
    case Proto::PATH_SPECIFIER_NOT_SET:
      break;
  }
  return fieldError(field_path, "path_specifier must be set (prefix, path or safe_regex)");
}

bool PathMatcher::matches(absl::string_view path) const {
  switch (kind_) {
    case Kind::kPrefix:
      return case_sensitive_ ? absl::StartsWith(path, text_)
                             : absl::StartsWithIgnoreCase(path, text_);
    case Kind::kExact:
      return case_sensitive_ ? path == text_ : absl::EqualsIgnoreCase(path, text_);
    case Kind::kRegex:
      return fullMatch(*regex_, path);
  }
  return false;
}

}  // namespace portico::router
