#include "source/router/virtual_host_selector.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "source/router/config_error.h"
#include "source/router/lower_case.h"

namespace portico::router {

absl::string_view stripPort(absl::string_view host) {
  size_t colon = host.rfind(':');
  if (colon == absl::string_view::npos) return host;
  // "[v6]:port": the colon must follow the bracket. Unbracketed hosts: only a single colon.
  if (!host.empty() && host[0] == '[') {
    if (colon == 0 || host[colon - 1] != ']') return host;
  } else if (host.find(':') != colon) {
    return host;
  }
  for (char c : host.substr(colon + 1)) {
    if (!absl::ascii_isdigit(c)) return host;
  }
  return host.substr(0, colon);
}

absl::StatusOr<VirtualHostSelector> VirtualHostSelector::create(
    const google::protobuf::RepeatedPtrField<config::v1::VirtualHost>& virtual_hosts,
    absl::string_view field_path) {
  VirtualHostSelector selector;
  absl::flat_hash_map<size_t, DomainMap> suffixes, prefixes;
  absl::flat_hash_map<std::string, std::string> seen;  // lower-cased domain -> its field path
  for (int v = 0; v < virtual_hosts.size(); ++v) {
    const std::string vhost_path = fieldPath(field_path, "virtual_hosts", v);
    const auto& domains = virtual_hosts[v].domains();
    if (domains.empty()) return fieldError(fieldPath(vhost_path, "domains"), "must not be empty");
    for (int d = 0; d < domains.size(); ++d) {
      const std::string path = fieldPath(vhost_path, "domains", d);
      const std::string domain = absl::AsciiStrToLower(domains[d]);
      if (domain.empty()) return fieldError(path, "must not be empty");
      auto [it, inserted] = seen.emplace(domain, path);
      if (!inserted) {
        return fieldError(
            path, absl::StrCat("duplicate domain \"", domains[d], "\" (also in ", it->second, ")"));
      }
      const size_t star = domain.find('*');
      if (domain == "*") {
        selector.any_ = v;
      } else if (star == absl::string_view::npos) {
        selector.exact_.emplace(domain, v);
      } else if (star != domain.rfind('*') || (star != 0 && star != domain.size() - 1)) {
        return fieldError(path, "'*' is only allowed once, as the first or last character");
      } else if (domain.find(':') != std::string::npos) {
        // The port is taken off the Host before wildcards are tried: "example.com:*" or
        // "*.example.com:8080" could never match.
        return fieldError(path, "a wildcard domain must not contain a port");
      } else if (star == 0) {
        std::string suffix = domain.substr(1);
        suffixes[suffix.size()].emplace(std::move(suffix), v);
      } else {
        std::string prefix = domain.substr(0, star);
        prefixes[prefix.size()].emplace(std::move(prefix), v);
      }
    }
  }
  selector.suffixes_ = toBuckets(std::move(suffixes));
  selector.prefixes_ = toBuckets(std::move(prefixes));
  return selector;
}

std::vector<VirtualHostSelector::WildcardBucket> VirtualHostSelector::toBuckets(
    absl::flat_hash_map<size_t, DomainMap> by_length) {
  std::vector<WildcardBucket> buckets;
  for (auto& [length, domains] : by_length) {
    buckets.push_back(WildcardBucket{length, std::move(domains)});
  }
  std::sort(buckets.begin(), buckets.end(),
            [](const WildcardBucket& a, const WildcardBucket& b) { return a.length > b.length; });
  return buckets;
}

int VirtualHostSelector::select(absl::string_view host) const {
  // Only a "*" (a sidecar's usual table): nothing to look up, so nothing to lower-case.
  if (exact_.empty() && suffixes_.empty() && prefixes_.empty()) return any_;
  const LowerCased lower(host);
  const absl::string_view full = lower.view();
  if (!exact_.empty()) {
    auto it = exact_.find(full);
    if (it != exact_.end()) return it->second;
  }
  const absl::string_view bare = stripPort(full);
  if (bare.size() != full.size() && !exact_.empty()) {
    auto it = exact_.find(bare);
    if (it != exact_.end()) return it->second;
  }
  // A wildcard must stand for at least one character, hence length < bare.size().
  for (const WildcardBucket& bucket : suffixes_) {
    if (bucket.length >= bare.size()) continue;
    auto it = bucket.domains.find(bare.substr(bare.size() - bucket.length));
    if (it != bucket.domains.end()) return it->second;
  }
  for (const WildcardBucket& bucket : prefixes_) {
    if (bucket.length >= bare.size()) continue;
    auto it = bucket.domains.find(bare.substr(0, bucket.length));
    if (it != bucket.domains.end()) return it->second;
  }
  return any_;
}

}  // namespace portico::router
