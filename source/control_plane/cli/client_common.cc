#include "source/control_plane/cli/client_common.h"

#include <cstdlib>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "source/common/common/read_file.h"
#include "source/control_plane/cli/commands.h"
#include "source/control_plane/store/resource_parser.h"

namespace portico::control_plane::cli {

FlagSpec clientFlagSpec(bool with_file) {
  FlagSpec spec{{"server", "api-token"}, {}, {}};
  if (with_file) {
    spec.with_value.insert("file");
    spec.aliases["f"] = "file";
  }
  return spec;
}

std::string tokenFrom(const Flags& flags) {
  if (flags.has("api-token")) return flags.get("api-token");
  const char* env = getenv("PORTICO_CONTROL_TOKEN");
  return env ? env : "";
}

absl::StatusOr<std::string> readInput(const std::string& path) {
  // The server takes bodies up to 4 MiB (LocalServerLimits::max_body_bytes); more still gets
  // its 413.
  return readFileBounded(path, 8 * 1024 * 1024);
}

absl::StatusOr<ResourceConstSharedPtr> resourceFromServer(const std::string& body, Kind kind) {
  google::protobuf::Struct s;
  if (!google::protobuf::util::JsonStringToMessage(body, &s).ok()) {
    return absl::InternalError("the server's answer is not JSON");
  }
  for (const char* extra : {"name", "version", "origin"}) s.mutable_fields()->erase(extra);
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(s, &json);
  return parseResourceWithKind(json, kind, "server");
}

int call(const Flags& flags, const std::string& method, const std::string& path,
         const std::string& body, ClientResponse& out) {
  auto r = httpRequest(flags.get("server", kDefaultServer), method, path, tokenFrom(flags), body);
  if (!r.ok()) {
    std::cerr << "error: " << r.status().message() << "\n";
    return r.status().code() == absl::StatusCode::kInvalidArgument ? kExitUsage : kExitUnreachable;
  }
  out = std::move(*r);
  if (out.status >= 200 && out.status < 300) return kExitOk;
  google::protobuf::Struct err;
  if (google::protobuf::util::JsonStringToMessage(out.body, &err).ok() &&
      err.fields().contains("error")) {
    std::cerr << "error (HTTP " << out.status << "): " << err.fields().at("error").string_value()
              << "\n";
    if (err.fields().contains("field")) {
      std::cerr << "field: " << err.fields().at("field").string_value() << "\n";
    }
  } else {
    std::cerr << "error: HTTP " << out.status << ": " << out.body << "\n";
  }
  return kExitFailed;
}

}  // namespace portico::control_plane::cli
