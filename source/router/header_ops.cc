#include "source/router/header_ops.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "source/common/http/headers.h"
#include "source/router/config_error.h"
#include "source/router/header_syntax.h"

namespace portico::router {
namespace {

// The proxy frames message bodies from these; a route editing them would make the upstream or
// the client read a body other than the one sent (request smuggling, a desynchronised client).
absl::Status checkNotFraming(absl::string_view name, absl::string_view field_path) {
  if (name == "content-length" || name == "transfer-encoding") {
    return fieldError(field_path, absl::StrCat("header \"", name,
                                               "\" frames the message body; routes cannot add, "
                                               "set or remove it"));
  }
  return absl::OkStatus();
}

// Hop-by-hop fields describe one connection, and the proxy manages its own: an added
// "connection: close" or "upgrade" would ask the next hop for something the proxy does not do
// (a close it does not expect, a protocol switch it answers with 502). Removing them is
// allowed, and does nothing (they never cross the proxy).
absl::Status checkNotHopByHop(absl::string_view name, absl::string_view field_path) {
  if (http::isHopByHopHeader(name)) {
    return fieldError(field_path, absl::StrCat("header \"", name,
                                               "\" is hop-by-hop (it describes one connection); "
                                               "routes cannot add or set it"));
  }
  return absl::OkStatus();
}

// Host is checked when the request arrives and routed on; an op could remove it, add a second
// one or set one that is not an authority. host_rewrite_literal is the checked way (as Envoy).
absl::Status checkNotHost(absl::string_view name, absl::string_view prefix,
                          absl::string_view field_path) {
  if (prefix == "request_" && name == "host") {
    return fieldError(field_path,
                      "request header ops cannot change \"host\"; use the route's "
                      "host_rewrite_literal");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<HeaderOpList> buildHeaderOps(
    const google::protobuf::RepeatedPtrField<config::v1::HeaderValueOption>& to_add,
    const google::protobuf::RepeatedPtrField<std::string>& to_remove, absl::string_view field_path,
    absl::string_view prefix) {
  if (to_add.size() + to_remove.size() > kMaxHeaderOpsPerLevel) {
    return fieldError(field_path,
                      absl::StrCat(to_add.size() + to_remove.size(), " entries in ", prefix,
                                   "headers_to_add and ", prefix, "headers_to_remove; at most ",
                                   kMaxHeaderOpsPerLevel, " per level"));
  }
  HeaderOpList ops;
  ops.reserve(to_add.size() + to_remove.size());
  const std::string remove_field = absl::StrCat(prefix, "headers_to_remove");
  for (int i = 0; i < to_remove.size(); ++i) {
    const std::string entry = fieldPath(field_path, remove_field, i);
    auto name = normalizeHeaderName(to_remove[i], entry);
    if (!name.ok()) return name.status();
    if (absl::Status s = checkNotFraming(*name, entry); !s.ok()) return s;
    if (absl::Status s = checkNotHost(*name, prefix, entry); !s.ok()) return s;
    ops.push_back(HeaderOp{HeaderOp::Kind::kRemove, std::move(*name), ""});
  }
  const std::string add_field = absl::StrCat(prefix, "headers_to_add");
  for (int i = 0; i < to_add.size(); ++i) {
    const config::v1::HeaderValueOption& option = to_add[i];
    const std::string entry = fieldPath(field_path, add_field, i);
    auto name = normalizeHeaderName(option.key(), fieldPath(entry, "key"));
    if (!name.ok()) return name.status();
    if (absl::Status s = checkNotFraming(*name, fieldPath(entry, "key")); !s.ok()) return s;
    if (absl::Status s = checkNotHopByHop(*name, fieldPath(entry, "key")); !s.ok()) return s;
    if (absl::Status s = checkNotHost(*name, prefix, fieldPath(entry, "key")); !s.ok()) return s;
    absl::Status value_ok = validateHeaderValue(option.value(), fieldPath(entry, "value"));
    if (!value_ok.ok()) return value_ok;
    ops.push_back(HeaderOp{option.append() ? HeaderOp::Kind::kAppend : HeaderOp::Kind::kSet,
                           std::move(*name), option.value()});
  }
  return ops;
}

HeaderOpLevelSharedPtr layerHeaderOps(HeaderOpList ops, HeaderOpLevelSharedPtr less_specific) {
  if (ops.empty()) return less_specific;
  auto level = std::make_shared<HeaderOpLevel>();
  for (const HeaderOp& op : ops) {
    if (op.kind != HeaderOp::Kind::kAppend) level->owned.insert(op.name);
  }
  level->ops = std::move(ops);
  level->less_specific = std::move(less_specific);
  return level;
}

namespace {
void applyOne(const HeaderOp& op, http::HeaderMap& headers) {
  switch (op.kind) {
    case HeaderOp::Kind::kRemove:
      headers.remove(op.name);
      break;
    case HeaderOp::Kind::kSet:
      headers.set(op.name, op.value);
      break;
    case HeaderOp::Kind::kAppend:
      headers.add(op.name, op.value);
      break;
  }
}
}  // namespace

void applyHeaderOps(const HeaderOpLevel* levels, http::HeaderMap& headers) {
  // Names owned by the more specific levels seen so far (a chain is at most route, virtual
  // host and route configuration: three levels).
  constexpr int kMaxLevels = 8;
  const absl::flat_hash_set<std::string>* owned[kMaxLevels];
  int owners = 0;
  for (const HeaderOpLevel* level = levels; level != nullptr; level = level->less_specific.get()) {
    for (const HeaderOp& op : level->ops) {
      bool taken = false;
      for (int i = 0; i < owners && !taken; i++) taken = owned[i]->contains(op.name);
      if (!taken) applyOne(op, headers);
    }
    if (!level->owned.empty() && owners < kMaxLevels) owned[owners++] = &level->owned;
  }
}

void applyHeaderOps(const HeaderOpList& ops, http::HeaderMap& headers) {
  for (const HeaderOp& op : ops) applyOne(op, headers);
}

}  // namespace portico::router
