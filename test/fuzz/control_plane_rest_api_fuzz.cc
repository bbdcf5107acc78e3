// libFuzzer target: the control plane's REST API (what `portico-control` and operators' scripts
// call) with any method, path, query and body, on a real store directory.
//
// Invariants: every answer has a status in 200..599 and a JSON body that parses when it says it
// is JSON; and whatever the API accepted is what the store holds: after every request, loading
// the directory afresh gives exactly the controller's resources (same kinds, names, versions).
//
// Input: [method byte][path/query up to '\n'][body]. A path not starting with '/' is appended to
// one of the API's prefixes, picked by its first byte.

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_split.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "source/control_plane/api/rest_api.h"
#include "source/control_plane/controller.h"
#include "source/control_plane/server/fleet_registry.h"
#include "source/control_plane/store/directory_store.h"
#include "test/fuzz/fuzz_check.h"

namespace {

using namespace portico::control_plane;  // NOLINT: a fuzz target's own file
using portico::fuzz::check;

constexpr char kBase[] = R"(kind: Cluster
spec: {name: a, load_assignment: {endpoints: [{address: {address: 127.0.0.1, port: 8001}}]}}
---
kind: RouteConfiguration
spec: {name: r, virtual_hosts: [{name: v, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: a}}]}]}
)";
constexpr const char* kMethods[] = {"GET", "PUT", "DELETE", "POST", "PATCH"};
constexpr const char* kPrefixes[] = {"/v1/resources/",
                                     "/v1/resources/Cluster/",
                                     "/v1/resources/RouteConfiguration/",
                                     "/v1/apply",
                                     "/v1/apply?dry_run=true",
                                     "/v1/fleet",
                                     "/metrics",
                                     "/healthz"};

// A fresh store directory (in memory: writes fsync) holding kBase.
const std::string& resetDirectory() {
  static const std::string dir = [] {
    std::string base = std::filesystem::exists("/dev/shm") ? "/dev/shm" : "/tmp";
    base += "/portico-rest-fuzz.XXXXXX";
    check(mkdtemp(base.data()) != nullptr, "temporary directory");
    return base;
  }();
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::filesystem::remove_all(entry.path());
  }
  std::ofstream(dir + "/base.yaml") << kBase;
  return dir;
}

bool sameResources(const ResourceMap& a, const ResourceMap& b) {
  if (a.size() != b.size()) return false;
  for (auto ia = a.begin(), ib = b.begin(); ia != a.end(); ++ia, ++ib) {
    if (ia->first != ib->first || ia->second->version != ib->second->version) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > 16 * 1024) return 0;
  const std::string dir = resetDirectory();
  DirectoryStore store(dir);
  SnapshotCacheImpl cache;
  Controller controller(store, cache);
  check(controller.reload().ok(), "base state loads");
  FleetRegistry fleet;
  RestApi api(controller, fleet, "t0ken");

  const std::string input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const size_t newline = input.find('\n');
  std::string target = input.substr(0, newline);
  const std::string body = newline == std::string::npos ? "" : input.substr(newline + 1);
  if (target.empty() || target[0] != '/') {
    const uint8_t pick = target.empty() ? 0 : static_cast<uint8_t>(target[0]);
    target = kPrefixes[pick % 8] + (target.empty() ? "" : target.substr(1));
  }

  portico::http::LocalRequest request;
  request.method = kMethods[data[0] % 5];
  const size_t q = target.find('?');
  request.path = target.substr(0, q);
  if (q != std::string::npos) {
    for (absl::string_view pair : absl::StrSplit(target.substr(q + 1), '&')) {
      std::pair<std::string, std::string> kv = absl::StrSplit(pair, absl::MaxSplits('=', 1));
      request.query[kv.first] = kv.second;
    }
  }
  if ((data[0] & 0x80) == 0) request.headers["authorization"] = "Bearer t0ken";
  request.body = body;

  const portico::http::LocalResponse response = api.handle(request);
  check(response.status >= 200 && response.status <= 599, "status out of range");
  if (response.content_type == "application/json") {
    google::protobuf::Value parsed;
    check(google::protobuf::util::JsonStringToMessage(response.body, &parsed).ok(),
          "a JSON answer that is not JSON");
  }
  auto on_disk = DirectoryStore(dir).load();
  check(on_disk.ok(), "the store cannot load what the API wrote");
  check(sameResources(*on_disk, controller.resources()), "the store and the API disagree");
  return 0;
}
