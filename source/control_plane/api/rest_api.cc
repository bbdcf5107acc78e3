#include "source/control_plane/api/rest_api.h"

#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "source/control_plane/store/json.h"
#include "source/control_plane/store/resource_parser.h"

namespace portico::control_plane {
namespace {

bool constantTimeEquals(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); i++) diff |= a[i] ^ b[i];
  return diff == 0;
}

// The field path of an error line "origin: Kind/name: spec.a.b: message".
std::string fieldOf(absl::string_view message) {
  absl::string_view first = message.substr(0, message.find('\n'));
  for (absl::string_view part : absl::StrSplit(first, ": ")) {
    if (absl::StartsWith(part, "spec") || absl::StartsWith(part, "targets") || part == "kind") {
      return std::string(part);
    }
  }
  return "";
}

std::string resourceJson(const Resource& r) {
  // The document ({kind, targets, spec}) with name, version and origin after its kind.
  std::string doc = resourceToJson(r);
  size_t after_kind = doc.find(',');
  json::ObjectWriter extra;
  extra.string("name", r.name).string("version", r.version).string("origin", r.origin);
  std::string fields = extra.finish();
  return absl::StrCat(doc.substr(0, after_kind), ",", fields.substr(1, fields.size() - 2),
                      doc.substr(after_kind));
}

int httpStatus(const absl::Status& st) {
  switch (st.code()) {
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
      return 400;
    case absl::StatusCode::kAborted:  // the store on disk does not load: fix it first
      return 409;
    default:
      return 500;
  }
}

}  // namespace

http::LocalResponse errorResponse(int status, absl::string_view message) {
  json::ObjectWriter w;
  w.string("error", message);
  std::string field = fieldOf(message);
  if (!field.empty()) w.string("field", field);
  return http::LocalResponse{status, "application/json", w.finish() + "\n"};
}

http::LocalResponse RestApi::handle(const http::LocalRequest& request) {
  if (request.path == "/healthz") {
    auto s = controller_.current();
    return http::LocalResponse{200, "application/json",
                               json::ObjectWriter()
                                       .string("status", "ok")
                                       .string("snapshot_version", s ? s->version() : "")
                                       .finish() +
                                   "\n"};
  }
  if (!token_.empty()) {
    auto it = request.headers.find("authorization");
    absl::string_view given = it == request.headers.end() ? "" : absl::string_view(it->second);
    if (!absl::ConsumePrefix(&given, "Bearer ") || !constantTimeEquals(given, token_)) {
      return errorResponse(401, "missing or wrong bearer token");
    }
  }
  if (request.path == "/metrics") {
    if (request.method != "GET") return errorResponse(405, "GET only");
    return http::LocalResponse{200, "text/plain; version=0.0.4", metrics()};
  }
  if (request.path == "/v1/fleet") {
    if (request.method != "GET") return errorResponse(405, "GET only");
    auto s = controller_.current();
    return http::LocalResponse{200, "application/json", fleet_.toJson(s ? s->version() : "")};
  }
  if (request.path == "/v1/apply") {
    if (request.method != "POST") return errorResponse(405, "POST only");
    return apply(request);
  }
  // Split before decoding: a name may hold '/' (sent as %2F).
  absl::string_view rest = request.raw_path;
  if (absl::ConsumePrefix(&rest, "/v1/resources")) return resources(request, rest);
  return errorResponse(404, absl::StrCat("no such path '", request.path,
                                         "' (see /v1/resources, /v1/apply, /v1/fleet, /metrics)"));
}

http::LocalResponse RestApi::resources(const http::LocalRequest& request, absl::string_view rest) {
  std::vector<std::string> parts = absl::StrSplit(rest, '/', absl::SkipEmpty());
  if (parts.size() > 2 || (!rest.empty() && rest[0] != '/')) {
    return errorResponse(404, "use /v1/resources[/KIND[/NAME]] (a '/' in NAME as %2F)");
  }
  for (std::string& part : parts) part = http::percentDecode(part);
  std::optional<Kind> kind;
  if (!parts.empty()) {
    auto k = parseKind(parts[0]);
    if (!k.ok()) return errorResponse(404, k.status().message());
    kind = *k;
  }
  if (request.method == "GET") {
    ResourceMap all = controller_.resources();
    if (parts.size() == 2) {
      auto it = all.find({*kind, parts[1]});
      if (it == all.end()) {
        return errorResponse(404, absl::StrCat(kindName(*kind), "/", parts[1], " not found"));
      }
      return http::LocalResponse{200, "application/json", resourceJson(*it->second) + "\n"};
    }
    json::ArrayWriter list;
    for (const auto& [key, r] : all) {
      if (!kind || key.first == *kind) list.raw(resourceJson(*r));
    }
    auto s = controller_.current();
    return http::LocalResponse{200, "application/json",
                               json::ObjectWriter()
                                       .string("snapshot_version", s ? s->version() : "")
                                       .raw("resources", list.finish())
                                       .finish() +
                                   "\n"};
  }
  if (parts.size() != 2) return errorResponse(405, "PUT and DELETE need /v1/resources/KIND/NAME");
  const std::string& name = parts[1];
  if (request.method == "DELETE") {
    auto s = controller_.apply({}, {ResourceKey{*kind, name}});
    if (!s.ok()) return errorResponse(httpStatus(s.status()), s.status().message());
    return http::LocalResponse{200, "application/json",
                               json::ObjectWriter()
                                       .string("deleted", absl::StrCat(kindName(*kind), "/", name))
                                       .string("snapshot_version", (*s)->version())
                                       .finish() +
                                   "\n"};
  }
  if (request.method != "PUT") return errorResponse(405, "GET, PUT or DELETE");
  auto r = parseResourceWithKind(request.body, *kind, "api");
  if (!r.ok()) return errorResponse(400, r.status().message());
  if ((*r)->name != name) {
    return errorResponse(400, absl::StrCat("api: spec.name: '", (*r)->name,
                                           "' does not match the name in the path '", name, "'"));
  }
  ResourceMap base;  // 200 or 201 by what the write found on disk, not the last publish
  auto s = controller_.apply({*r}, {}, &base);
  if (!s.ok()) return errorResponse(httpStatus(s.status()), s.status().message());
  const bool existed = base.contains(ResourceKey{*kind, name});
  return http::LocalResponse{existed ? 200 : 201, "application/json",
                             json::ObjectWriter()
                                     .string("resource", absl::StrCat(kindName(*kind), "/", name))
                                     .string("version", (*r)->version)
                                     .string("snapshot_version", (*s)->version())
                                     .finish() +
                                 "\n"};
}

http::LocalResponse RestApi::apply(const http::LocalRequest& request) {
  auto parsed = parseResources(request.body, "request");
  if (!parsed.ok()) return errorResponse(400, parsed.status().message());
  // A misspelt dry run must not write for real.
  bool dry_run = false;
  for (const auto& [name, value] : request.query) {
    if (name != "dry_run") {
      return errorResponse(400, absl::StrCat("unknown query parameter '", name,
                                             "' (POST /v1/apply takes dry_run=true|false)"));
    }
    if (value == "true" || value == "1") {
      dry_run = true;
    } else if (value != "false" && value != "0") {
      return errorResponse(400, absl::StrCat("dry_run: '", value, "' is not true or false"));
    }
  }
  std::string version;
  ResourceMap before;  // what the write found on disk, not the last publish
  if (dry_run) {
    absl::Status st = controller_.check(*parsed, {}, &before);
    if (!st.ok()) return errorResponse(httpStatus(st), st.message());
  } else {
    auto s = controller_.apply(*parsed, {}, &before);
    if (!s.ok()) return errorResponse(httpStatus(s.status()), s.status().message());
    version = (*s)->version();
  }
  json::ArrayWriter results;
  for (const auto& r : *parsed) {
    auto it = before.find({r->kind, r->name});
    const char* what = it == before.end()                  ? "created"
                       : it->second->version == r->version ? "unchanged"
                                                           : "updated";
    results.raw(json::ObjectWriter()
                    .string("resource", absl::StrCat(kindName(r->kind), "/", r->name))
                    .string("result", what)
                    .finish());
  }
  return http::LocalResponse{200, "application/json",
                             json::ObjectWriter()
                                     .raw("results", results.finish())
                                     .string("snapshot_version", version)
                                     .finish() +
                                 "\n"};
}

std::string RestApi::metrics() const {
  auto s = controller_.current();
  std::string out = fleet_.toPrometheus();
  absl::StrAppend(&out, "# TYPE portico_control_snapshot_info gauge\n",
                  "portico_control_snapshot_info{version=\"", s ? s->version() : "", "\"} 1\n",
                  "# TYPE portico_control_resources gauge\n");
  ResourceMap all = controller_.resources();
  for (Kind k : kAllKinds) {
    size_t n = 0;
    for (const auto& [key, r] : all) n += key.first == k;
    absl::StrAppend(&out, "portico_control_resources{type=\"", kindName(k), "\"} ", n, "\n");
  }
  absl::StrAppend(&out, "# TYPE portico_control_reloads_total counter\n",
                  "portico_control_reloads_total ", controller_.reloads(), "\n",
                  "# TYPE portico_control_reload_failures_total counter\n",
                  "portico_control_reload_failures_total ", controller_.reloadFailures(), "\n",
                  "# TYPE portico_control_api_writes_total counter\n",
                  "portico_control_api_writes_total ", controller_.applies(), "\n");
  return out;
}

}  // namespace portico::control_plane
