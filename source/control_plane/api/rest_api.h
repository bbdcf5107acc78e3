#pragma once

// The REST API (JSON), served by http::LocalServer:
//   GET    /healthz                         liveness (no token needed)
//   GET    /metrics                         Prometheus text
//   GET    /v1/fleet                        connected proxies, ACKed versions, last NACKs
//   GET    /v1/resources[/KIND[/NAME]]      resources as {kind, targets, spec} documents
//   PUT    /v1/resources/KIND/NAME          body: {targets?, spec} (YAML or JSON)
//   DELETE /v1/resources/KIND/NAME
//   POST   /v1/apply[?dry_run=true]         body: YAML documents, applied all or nothing
// Every write is validated first; a bad one is 400 {"error", "field"} naming the field path,
// and nothing is written or pushed. With a token configured, every path except /healthz needs
// "Authorization: Bearer <token>" (else 401).

#include <string>

#include "source/common/http/local_server.h"
#include "source/control_plane/controller.h"
#include "source/control_plane/server/fleet_registry.h"

namespace portico::control_plane {

class RestApi {
 public:
  RestApi(Controller& controller, FleetRegistry& fleet, std::string token)
      : controller_(controller), fleet_(fleet), token_(std::move(token)) {}

  http::LocalResponse handle(const http::LocalRequest& request);

 private:
  http::LocalResponse resources(const http::LocalRequest& request, absl::string_view rest);
  http::LocalResponse apply(const http::LocalRequest& request);
  std::string metrics() const;

  Controller& controller_;
  FleetRegistry& fleet_;
  std::string token_;
};

// 400 (or `status`) with {"error": message, "field": first field path found in it}.
http::LocalResponse errorResponse(int status, absl::string_view message);

}  // namespace portico::control_plane
