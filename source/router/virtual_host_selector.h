#pragma once

// Picks a virtual host by the request's Host header.
//
// Order (most specific first): exact domain including the port ("example.com:8080"), exact
// domain without the port, longest suffix wildcard ("*.example.com"), longest prefix wildcard
// ("api.*"), then "*". Case-insensitive. Wildcards must match at least one character and are
// tested against the host without its port. Exact domains are one hash lookup; wildcards are one
// lookup per distinct wildcard length, longest first.

#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/repeated_field.h"
#include "portico/config/v1/route.pb.h"

namespace portico::router {

class VirtualHostSelector {
 public:
  // Refuses empty domain lists, empty domains, '*' anywhere but first or last, wildcards with a
  // port, and a domain listed twice (within or across virtual hosts, ignoring case).
  static absl::StatusOr<VirtualHostSelector> create(
      const google::protobuf::RepeatedPtrField<config::v1::VirtualHost>& virtual_hosts,
      absl::string_view field_path);

  // Index into the configured virtual_hosts, or -1 when none matches.
  int select(absl::string_view host) const;

 private:
  using DomainMap = absl::flat_hash_map<std::string, int>;
  // All wildcards of one literal length; `length` descending across the vector.
  struct WildcardBucket {
    size_t length;
    DomainMap domains;
  };

  VirtualHostSelector() = default;
  static std::vector<WildcardBucket> toBuckets(absl::flat_hash_map<size_t, DomainMap> by_length);

  DomainMap exact_;
  std::vector<WildcardBucket> suffixes_;  // "*.example.com" stored as ".example.com"
  std::vector<WildcardBucket> prefixes_;  // "api.*" stored as "api."
  int any_ = -1;                          // "*"
};

// `host` without a trailing ":port" ("[::1]:80" -> "[::1]"; bare IPv6 is left alone).
absl::string_view stripPort(absl::string_view host);

}  // namespace portico::router
