#include "source/router/header_ops.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
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
    if (absl::Status s = checkNotHost(*name, prefix, fieldPath(entry, "key")); !s.ok()) return s;
    absl::Status value_ok = validateHeaderValue(option.value(), fieldPath(entry, "value"));
    if (!value_ok.ok()) return value_ok;
    ops.push_back(HeaderOp{option.append() ? HeaderOp::Kind::kAppend : HeaderOp::Kind::kSet,
                           std::move(*name), option.value()});
  }
  return ops;
}

HeaderOpList mergeHeaderOps(const HeaderOpList& more_specific, const HeaderOpList& less_specific) {
  absl::flat_hash_set<absl::string_view> owned;
  for (const HeaderOp& op : more_specific) {
    if (op.kind != HeaderOp::Kind::kAppend) owned.insert(op.name);
  }
  HeaderOpList merged = more_specific;
  for (const HeaderOp& op : less_specific) {
    if (!owned.contains(op.name)) merged.push_back(op);
  }
  return merged;
}

void applyHeaderOps(const HeaderOpList& ops, http::HeaderMap& headers) {
  for (const HeaderOp& op : ops) {
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
}

}  // namespace portico::router
