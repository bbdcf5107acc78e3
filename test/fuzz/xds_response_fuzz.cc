// libFuzzer target: what arrives on the proxy's xDS stream, from the bytes of the gRPC
// response body to the config snapshot the workers would run. The control plane is trusted
// to be right, not to be well-formed: a bug or a man in the middle must give a NACK, never a
// crash, a hang or a sanitizer report.
//
// Path: gRPC message framing fed in arbitrary pieces (GrpcMessageDecoder) -> the ADS client
// (DiscoveryResponse or DeltaDiscoveryResponse parsing, per-type state, delta merges and
// removals, unknown types) -> DynamicConfig (names, types, merge with the static resources,
// warming listeners) -> the full validation and snapshot build, committed when accepted so
// later messages of the same input build on it, lending unchanged parts as the proxy does.
//
// Input: byte 0 picks the protocol (bit 0: delta) and seeds the piece sizes; the rest is the
// response body. Invariants: a rejection carries a message; an accepted snapshot's config is
// also accepted when built on itself, and from scratch but for route tables accepted earlier
// that now name a removed cluster (what was lent equals what would be built).

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "source/common/common/logger.h"
#include "source/common/config/bootstrap_loader.h"
#include "source/common/event/dispatcher.h"
#include "source/common/stats/store.h"
#include "source/server/config_snapshot.h"
#include "source/server/dynamic_config.h"
#include "source/xds/ads_client.h"
#include "source/xds/grpc_message_decoder.h"
#include "test/fuzz/fuzz_check.h"
#include "test/server/static_resources.h"

namespace {

using portico::fuzz::check;

// The proxy's applier (Server::applyResources) without binding ports or workers.
class SnapshotApplier : public portico::xds::ConfigApplier {
 public:
  explicit SnapshotApplier(portico::config::v1::Bootstrap bootstrap) : dynamic_(bootstrap) {
    auto built = portico::server::buildConfigSnapshot(std::move(bootstrap), store_);
    check(built.ok(), "static config");
    current_ = *built;
  }

  absl::Status applyResources(const std::string& type_url,
                              const std::vector<google::protobuf::Any>& resources,
                              const std::string&) override {
    auto snapshot = dynamic_.buildSnapshot(type_url, resources, store_, current_.get());
    if (!snapshot.ok()) {
      check(!snapshot.status().message().empty(), "rejected without a message");
      return snapshot.status();
    }
    portico::stats::Store fresh_store;
    // From scratch, only a route table accepted earlier may now fail: one naming a cluster
    // that a later update removed (kept, answering 503, as Envoy does). Built on itself,
    // everything is lent and must pass.
    auto fresh = portico::server::buildConfigSnapshot((*snapshot)->bootstrap, fresh_store);
    check(fresh.ok() || absl::StrContains(fresh.status().message(), "route names unknown cluster"),
          "accepted config is not valid when built from scratch");
    check(portico::server::buildConfigSnapshot((*snapshot)->bootstrap, fresh_store, snapshot->get())
              .ok(),
          "accepted config is not valid when built on itself");
    dynamic_.commit();
    current_ = *snapshot;
    return absl::OkStatus();
  }

 private:
  portico::stats::Store store_;
  portico::server::DynamicConfig dynamic_;
  portico::server::ConfigSnapshotConstSharedPtr current_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > 256 * 1024) return 0;
  static const portico::config::v1::Bootstrap* const kStatic = [] {
    portico::logger::setLevel(portico::logger::Level::kOff);  // every NACK would log a line
    auto parsed = portico::config::parseBootstrapYaml(portico::test::kStaticResourcesYaml);
    check(parsed.ok(), "static yaml");
    return new portico::config::v1::Bootstrap(*parsed);
  }();
  static portico::event::DispatcherPtr dispatcher = portico::event::createDispatcher();

  const bool delta = (data[0] & 1) != 0;
  uint32_t seed = data[0] | 0x100u;
  absl::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);

  SnapshotApplier applier(*kStatic);
  portico::xds::AdsClient client(*dispatcher, {}, {}, applier, delta);
  portico::xds::GrpcMessageDecoder decoder(size);
  while (!body.empty()) {
    seed = seed * 1103515245u + 12345u;  // piece sizes from the input, 1..64 bytes or the rest
    const size_t piece = (seed >> 16) % 8 == 0 ? body.size() : 1 + (seed >> 16) % 64;
    const absl::string_view next = body.substr(0, piece);
    body.remove_prefix(next.size());
    absl::Status st = decoder.decode(next, [&](absl::string_view message) {
      client.onMessage(message);
      return true;
    });
    if (!st.ok()) {
      check(!st.message().empty(), "framing error without a message");
      break;
    }
    check(decoder.bufferedBytes() <= size + 5, "decoder holds more than the input");
  }
  return 0;
}
