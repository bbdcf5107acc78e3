// libFuzzer target: arbitrary bytes as a bootstrap file, through everything `portico --validate`
// does: YAML (or JSON) -> JSON -> the Bootstrap proto, then the semantic checks and the build of
// a config snapshot (routes, regexes, clusters, listeners, access log formats).
//
// A config comes from an operator or, through the control plane, from an API call: whatever it
// holds, the answer must be a config or an error, never a crash, a hang or a sanitizer report.
// An accepted config must also survive a round trip: printed as JSON and parsed again, it must
// still be accepted (what --print-default-config and /config_dump show can be loaded back).

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "google/protobuf/util/json_util.h"
#include "source/common/config/bootstrap_loader.h"
#include "source/common/stats/store.h"
#include "source/server/config_snapshot.h"
#include "test/fuzz/fuzz_check.h"

namespace {

using portico::fuzz::check;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;  // configs are small; keeps each run fast
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto bootstrap = portico::config::parseBootstrapYaml(text);
  if (!bootstrap.ok()) {
    check(!bootstrap.status().message().empty(), "rejected without a message");
    return 0;
  }
  portico::stats::Store store;
  auto snapshot = portico::server::buildConfigSnapshot(*bootstrap, store);
  if (!snapshot.ok()) {
    check(!snapshot.status().message().empty(), "invalid without a message");
    return 0;
  }
  std::string json;
  check(google::protobuf::util::MessageToJsonString(*bootstrap, &json).ok(), "print as JSON");
  auto again = portico::config::parseBootstrapYaml(json);
  check(again.ok(), "printed config does not parse back");
  portico::stats::Store store2;
  check(portico::server::buildConfigSnapshot(*again, store2).ok(),
        "printed config is not valid again");
  return 0;
}
