#pragma once

// What the client commands share: --server / --api-token handling, reading -f files, printing
// API errors.

#include <string>

#include "absl/status/statusor.h"
#include "source/control_plane/cli/flags.h"
#include "source/control_plane/cli/http_client.h"
#include "source/control_plane/store/resource.h"

namespace portico::control_plane::cli {

inline constexpr char kDefaultServer[] = "http://127.0.0.1:18001";

// Adds --server, --api-token (and -f/--file when `with_file`) to `spec`.
FlagSpec clientFlagSpec(bool with_file);
// --api-token, else $PORTICO_CONTROL_TOKEN.
std::string tokenFrom(const Flags& flags);
// Reads FILE ("-" = stdin).
absl::StatusOr<std::string> readInput(const std::string& path);
// Sends the request; prints connection errors and non-2xx answers ("error: ...", "field: ...")
// to stderr and returns the exit code to use, or 0 with `out` filled.
// The API's {kind, name, version, origin, targets, spec} back into a Resource.
absl::StatusOr<ResourceConstSharedPtr> resourceFromServer(const std::string& body, Kind kind);
int call(const Flags& flags, const std::string& method, const std::string& path,
         const std::string& body, ClientResponse& out);

}  // namespace portico::control_plane::cli
