#include "source/router/matchers.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "source/router/config_error.h"
#include "source/router/header_syntax.h"
#include "source/router/regex.h"

namespace portico::router {

bool ValueMatcher::matches(const absl::string_view* value) const {
  if (value == nullptr) return kind_ == Kind::kAbsent;
  switch (kind_) {
    case Kind::kExact:
      return *value == text_;
    case Kind::kPrefix:
      return absl::StartsWith(*value, text_);
    case Kind::kSuffix:
      return absl::EndsWith(*value, text_);
    case Kind::kContains:
      return absl::StrContains(*value, text_);
    case Kind::kRegex:
      return fullMatch(*regex_, *value);
    case Kind::kPresent:
      return true;
    case Kind::kAbsent:
      return false;
  }
  return false;
}

absl::StatusOr<HeaderMatcher> HeaderMatcher::create(const config::v1::HeaderMatcher& config,
                                                    absl::string_view field_path) {
  using Proto = config::v1::HeaderMatcher;
  absl::StatusOr<std::string> name =
      normalizeHeaderName(config.name(), fieldPath(field_path, "name"));
  if (!name.ok()) return name.status();
  using Kind = ValueMatcher::Kind;
  switch (config.match_specifier_case()) {
    case Proto::kExactMatch:
      return HeaderMatcher(*name, ValueMatcher(Kind::kExact, config.exact_match(), nullptr),
                           config.invert_match());
    case Proto::kPrefixMatch:
      return HeaderMatcher(*name, ValueMatcher(Kind::kPrefix, config.prefix_match(), nullptr),
                           config.invert_match());
    case Proto::kSuffixMatch:
      return HeaderMatcher(*name, ValueMatcher(Kind::kSuffix, config.suffix_match(), nullptr),
                           config.invert_match());
    case Proto::kContainsMatch:
      return HeaderMatcher(*name, ValueMatcher(Kind::kContains, config.contains_match(), nullptr),
                           config.invert_match());
    case Proto::kSafeRegexMatch: {
      auto re = compileRegex(config.safe_regex_match(), /*case_sensitive=*/true,
                             fieldPath(field_path, "safe_regex_match"));
      if (!re.ok()) return re.status();
      return HeaderMatcher(*name, ValueMatcher(Kind::kRegex, "", std::move(*re)),
                           config.invert_match());
    }
    case Proto::kPresentMatch:
      return HeaderMatcher(
          *name, ValueMatcher(config.present_match() ? Kind::kPresent : Kind::kAbsent, "", nullptr),
          config.invert_match());
    case Proto::MATCH_SPECIFIER_NOT_SET:
      break;
  }
  // Envoy treats a matcher with only a name as "header is present".
  return HeaderMatcher(*name, ValueMatcher(Kind::kPresent, "", nullptr), config.invert_match());
}

bool HeaderMatcher::matches(const http::HeaderMap& headers) const {
  const std::string* first = nullptr;
  size_t count = 0;
  for (const http::HeaderEntry& e : headers) {
    if (e.name != name_) continue;
    if (first == nullptr) first = &e.value;
    ++count;
  }
  bool result;
  if (first == nullptr) {
    // As Envoy: an inverted matcher does not accept an absent header either, except an
    // inverted present_match (true), which asks for exactly that. "Not prod" means a header
    // that says something else, not none.
    if (invert_) return value_.kind() == ValueMatcher::Kind::kPresent;
    return value_.matches(nullptr);
  } else if (count == 1) {
    absl::string_view v = *first;
    result = value_.matches(&v);
  } else {
    // Rare: a repeated header is matched as one comma-joined value (RFC 9110 5.3).
    std::string joined;
    bool first_value = true;  // not joined.empty(): an empty first value still takes a comma
    headers.forEachValue(name_, [&](const std::string& v) {
      if (!first_value) joined.push_back(',');
      first_value = false;
      joined.append(v);
    });
    absl::string_view v = joined;
    result = value_.matches(&v);
  }
  return result != invert_;
}

absl::StatusOr<QueryParameterMatcher> QueryParameterMatcher::create(
    const config::v1::QueryParameterMatcher& config, absl::string_view field_path) {
  using Proto = config::v1::QueryParameterMatcher;
  if (config.name().empty()) return fieldError(fieldPath(field_path, "name"), "must not be empty");
  using Kind = ValueMatcher::Kind;
  switch (config.match_specifier_case()) {
    case Proto::kExactMatch:
      return QueryParameterMatcher(config.name(),
                                   ValueMatcher(Kind::kExact, config.exact_match(), nullptr));
    case Proto::kPrefixMatch:
      return QueryParameterMatcher(config.name(),
                                   ValueMatcher(Kind::kPrefix, config.prefix_match(), nullptr));
    case Proto::kSafeRegexMatch: {
      auto re = compileRegex(config.safe_regex_match(), /*case_sensitive=*/true,
                             fieldPath(field_path, "safe_regex_match"));
      if (!re.ok()) return re.status();
      return QueryParameterMatcher(config.name(), ValueMatcher(Kind::kRegex, "", std::move(*re)));
    }
    case Proto::kPresentMatch:
      return QueryParameterMatcher(
          config.name(),
          ValueMatcher(config.present_match() ? Kind::kPresent : Kind::kAbsent, "", nullptr));
    case Proto::MATCH_SPECIFIER_NOT_SET:
      break;
  }
  return QueryParameterMatcher(config.name(), ValueMatcher(Kind::kPresent, "", nullptr));
}

bool QueryParameterMatcher::matches(absl::string_view query) const {
  absl::string_view value;
  bool found = findQueryParameter(query, name_, &value);
  return value_.matches(found ? &value : nullptr);
}

bool findQueryParameter(absl::string_view query, absl::string_view name, absl::string_view* value) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    absl::string_view pair = query.substr(0, amp);
    query = amp == absl::string_view::npos ? absl::string_view() : query.substr(amp + 1);
    size_t eq = pair.find('=');
    absl::string_view key = pair.substr(0, eq);
    if (pair.empty() || key != name) continue;
    *value = eq == absl::string_view::npos ? absl::string_view() : pair.substr(eq + 1);
    return true;
  }
  return false;
}

}  // namespace portico::router
