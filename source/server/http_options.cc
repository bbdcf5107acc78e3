#include "source/server/http_options.h"

#include "absl/strings/str_cat.h"
#include "source/common/config/duration.h"

namespace portico::server {
namespace {

absl::Status fieldError(absl::string_view field, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", message));
}

http::EscapedSlashesAction escapedSlashesAction(
    config::v1::HttpConnectionManager::PathWithEscapedSlashesAction action) {
  using Proto = config::v1::HttpConnectionManager;
  switch (action) {
    case Proto::REJECT_REQUEST:
      return http::EscapedSlashesAction::kRejectRequest;
    case Proto::UNESCAPE_AND_REDIRECT:
      return http::EscapedSlashesAction::kUnescapeAndRedirect;
    case Proto::UNESCAPE_AND_FORWARD:
      return http::EscapedSlashesAction::kUnescapeAndForward;
    default:
      return http::EscapedSlashesAction::kKeepUnchanged;
  }
}

}  // namespace

absl::Status applyHttpOptions(const config::v1::HttpConnectionManager& hcm,
                              const std::string& field, http::HttpConnectionManagerConfig& out) {
  const std::string& f = field;
  if (hcm.max_request_headers_kb() > 0) {
    if (hcm.max_request_headers_kb() > 8192) {
      return fieldError(f + ".max_request_headers_kb", "must be at most 8192");
    }
    out.limits.max_request_headers_bytes = hcm.max_request_headers_kb() * 1024;
  }
  if (hcm.max_headers_count() > 0) out.limits.max_headers_count = hcm.max_headers_count();
  for (const auto& [set, duration, name, slot] :
       {std::tuple{hcm.has_idle_timeout(), &hcm.idle_timeout(), ".idle_timeout", &out.idle_timeout},
        std::tuple{hcm.has_request_headers_timeout(), &hcm.request_headers_timeout(),
                   ".request_headers_timeout", &out.request_headers_timeout},
        std::tuple{hcm.has_stream_idle_timeout(), &hcm.stream_idle_timeout(),
                   ".stream_idle_timeout", &out.stream_idle_timeout}}) {
    if (!set) continue;
    auto d = config::toMilliseconds(*duration, f + name);
    if (!d.ok()) return d.status();
    *slot = *d;
  }
  if (hcm.per_connection_buffer_limit_bytes() > 0) {
    if (hcm.per_connection_buffer_limit_bytes() < 16 * 1024) {
      return fieldError(f + ".per_connection_buffer_limit_bytes", "must be at least 16384");
    }
    out.buffer_limit = hcm.per_connection_buffer_limit_bytes();
  }
  out.path_normalization.normalize = hcm.normalize_path();
  out.path_normalization.merge_slashes = hcm.merge_slashes();
  if (!config::v1::HttpConnectionManager::PathWithEscapedSlashesAction_IsValid(
          hcm.path_with_escaped_slashes_action())) {
    return fieldError(
        f + ".path_with_escaped_slashes_action",
        absl::StrCat(hcm.path_with_escaped_slashes_action(), " is not a known action"));
  }
  out.path_normalization.escaped_slashes =
      escapedSlashesAction(hcm.path_with_escaped_slashes_action());
  return absl::OkStatus();
}

}  // namespace portico::server
