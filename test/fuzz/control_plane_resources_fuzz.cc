// libFuzzer target: the control plane's intake of desired state, as `portico-control apply`,
// `PUT /v1/resources/...` and the watched store directory feed it: YAML (or JSON) documents ->
// {kind, targets, spec} resources -> the resource map (duplicates) -> validation with the data
// plane's own builders and cross-resource references.
//
// Whatever the text, the answer is resources or an error naming where, never a crash, a hang or
// a sanitizer report. Invariant: an accepted state survives the store's own round trip, i.e.
// written as the store writes files and parsed again, it gives the same resources (same kinds,
// names, targets and content hashes), still valid.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "source/control_plane/store/resource_parser.h"
#include "source/control_plane/store/validator.h"
#include "test/fuzz/fuzz_check.h"

namespace {

using portico::control_plane::ResourceConstSharedPtr;

using portico::fuzz::check;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;  // desired state comes in files and API bodies; keep runs fast
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto parsed = portico::control_plane::parseResources(text, "fuzz.yaml");
  if (!parsed.ok()) {
    check(!parsed.status().message().empty(), "rejected without a message");
    return 0;
  }
  auto map = portico::control_plane::buildResourceMap(*parsed);
  if (!map.ok()) {
    check(!map.status().message().empty(), "duplicate without a message");
    return 0;
  }
  const auto errors = portico::control_plane::validateResources(*map);
  for (const auto& e : errors) check(!e.toString().empty(), "empty validation error");
  if (!errors.empty()) return 0;

  const std::string written = portico::control_plane::resourcesToFileText(*parsed);
  auto again = portico::control_plane::parseResources(written, "again.yaml");
  check(again.ok(), "written resources do not parse back");
  check(again->size() == parsed->size(), "round trip changed the number of resources");
  for (size_t i = 0; i < parsed->size(); ++i) {
    const ResourceConstSharedPtr& a = (*parsed)[i];
    const ResourceConstSharedPtr& b = (*again)[i];
    check(a->kind == b->kind && a->name == b->name, "round trip changed a resource's identity");
    check(a->targets == b->targets, "round trip changed a resource's targets");
    check(a->version == b->version, "round trip changed a resource's content");
  }
  auto map_again = portico::control_plane::buildResourceMap(*again);
  check(map_again.ok(), "round trip made duplicates");
  check(portico::control_plane::validateResources(*map_again).empty(),
        "round trip made the state invalid");
  return 0;
}
