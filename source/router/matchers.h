#pragma once

// Request conditions besides the path: header matchers and query parameter matchers. Built and
// validated once per config; match() is allocation-free except when a header is repeated.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "portico/config/v1/route.pb.h"
#include "re2/re2.h"
#include "source/common/http/header_map.h"

namespace portico::router {

// How one value (of a header or a query parameter) is tested.
class ValueMatcher {
 public:
  enum class Kind { kExact, kPrefix, kSuffix, kContains, kRegex, kPresent, kAbsent };

  ValueMatcher(Kind kind, std::string text, std::unique_ptr<const RE2> regex)
      : kind_(kind), text_(std::move(text)), regex_(std::move(regex)) {}

  Kind kind() const { return kind_; }
  // Whether a field that is absent (`value` == nullptr) or has `value` matches.
  bool matches(const absl::string_view* value) const;

 private:
  Kind kind_;
  std::string text_;  // exact/prefix/suffix/contains operand
  std::unique_ptr<const RE2> regex_;
};

// One entry of RouteMatch.headers. Semantics follow Envoy: a repeated header is matched as its
// values joined with ","; an absent header fails every matcher except present_match: false, and
// invert_match flips the result of a header that is there; an absent one then matches only an
// inverted present_match: true.
class HeaderMatcher {
 public:
  static absl::StatusOr<HeaderMatcher> create(const config::v1::HeaderMatcher& config,
                                              absl::string_view field_path);

  bool matches(const http::HeaderMap& headers) const;
  const std::string& name() const { return name_; }

 private:
  HeaderMatcher(std::string name, ValueMatcher value, bool invert)
      : name_(std::move(name)), value_(std::move(value)), invert_(invert) {}

  std::string name_;  // lower-case
  ValueMatcher value_;
  bool invert_;
};

// One entry of RouteMatch.query_parameters, tested against the first parameter of that name.
// "a=1&b" yields a="1" and b="" (present); no percent-decoding; names are case-sensitive.
class QueryParameterMatcher {
 public:
  static absl::StatusOr<QueryParameterMatcher> create(
      const config::v1::QueryParameterMatcher& config, absl::string_view field_path);

  // `query`: the request target after '?', without the '?'.
  bool matches(absl::string_view query) const;

 private:
  QueryParameterMatcher(std::string name, ValueMatcher value)
      : name_(std::move(name)), value_(std::move(value)) {}

  std::string name_;
  ValueMatcher value_;
};

// The value of the first parameter called `name` in `query`, or false when there is none.
bool findQueryParameter(absl::string_view query, absl::string_view name, absl::string_view* value);

}  // namespace portico::router
