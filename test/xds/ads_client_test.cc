// The ADS client's handling of responses, fed in directly (no stream): what it applies, ACKs
// and NACKs.

#include "source/xds/ads_client.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "portico/config/v1/cluster.pb.h"
#include "source/common/event/dispatcher.h"
#include "source/xds/resource_types.h"

namespace portico::xds {
namespace {

using ::testing::HasSubstr;

class RecordingApplier : public ConfigApplier {
 public:
  absl::Status applyResources(const std::string&, const std::vector<google::protobuf::Any>& r,
                              const std::string&) override {
    applied.push_back(r.size());
    return absl::OkStatus();
  }
  std::vector<size_t> applied;  // the size of each applied set
};

class AdsClientDeltaTest : public ::testing::Test {
 protected:
  static service::discovery::v1::Resource cluster(const std::string& name,
                                                  const std::string& version) {
    config::v1::Cluster c;
    c.set_name(name);
    service::discovery::v1::Resource r;
    r.set_name(name);
    r.set_version(version);
    r.mutable_resource()->PackFrom(c);
    return r;
  }
  void receive(const service::discovery::v1::DeltaDiscoveryResponse& response) {
    client.onMessage(response.SerializeAsString());
  }
  // A cluster response carrying `resources`.
  static service::discovery::v1::DeltaDiscoveryResponse response(
      const std::string& nonce, std::vector<service::discovery::v1::Resource> resources) {
    service::discovery::v1::DeltaDiscoveryResponse r;
    r.set_type_url(kClusterType);
    r.set_nonce(nonce);
    for (auto& resource : resources) *r.add_resources() = std::move(resource);
    return r;
  }
  // The only response so far was NACKed with `error` in its text, and nothing applied.
  void expectRefused(const std::string& error) {
    EXPECT_TRUE(applier.applied.empty());
    EXPECT_EQ(clusters().nacks, 1u);
    EXPECT_THAT(clusters().last_error, HasSubstr(error));
  }
  const TypeState& clusters() { return client.typeStates().at(kClusterType); }

  event::DispatcherPtr dispatcher = event::createDispatcher();
  RecordingApplier applier;
  AdsClient client{*dispatcher, {}, {}, applier, /*delta=*/true};
};

TEST_F(AdsClientDeltaTest, ANameSentTwiceIsRefused) {
  // Regression (reviewer): the last copy won silently, and what the server took for ACKed
  // was ambiguous.
  receive(response("1", {cluster("a", "v1"), cluster("a", "v2")}));
  expectRefused("resources[1]: 'a' is sent twice");
}

TEST_F(AdsClientDeltaTest, ANameBothSentAndRemovedIsRefused) {
  // Regression (reviewer): the removal won silently and the response was ACKed, so the server
  // recorded a@v2 as delivered while the proxy did not hold it.
  service::discovery::v1::DeltaDiscoveryResponse first;
  first.set_type_url(kClusterType);
  first.set_nonce("1");
  *first.add_resources() = cluster("a", "v1");
  receive(first);
  ASSERT_EQ(applier.applied, std::vector<size_t>{1});
  service::discovery::v1::DeltaDiscoveryResponse both;
  both.set_type_url(kClusterType);
  both.set_nonce("2");
  *both.add_resources() = cluster("a", "v2");
  both.add_removed_resources("a");
  receive(both);
  EXPECT_EQ(applier.applied, std::vector<size_t>{1});
  EXPECT_EQ(clusters().nacks, 1u);
  EXPECT_THAT(clusters().last_error, HasSubstr("removed_resources[0]: 'a' is also among"));
  EXPECT_EQ(clusters().resources.at("a").first, "v1");  // what was held stays
  // A later plain removal works.
  service::discovery::v1::DeltaDiscoveryResponse removal;
  removal.set_type_url(kClusterType);
  removal.set_nonce("3");
  removal.add_removed_resources("a");
  receive(removal);
  EXPECT_EQ(applier.applied, (std::vector<size_t>{1, 0}));
  EXPECT_TRUE(clusters().resources.empty());
}

TEST_F(AdsClientDeltaTest, AResourceSentWithoutANameIsRefusedByItsPlace) {
  // Regression (reviewer): it was refused by its place in the merged set, sorted by name,
  // where it came first: "resources[0]", a valid resource of the response.
  receive(response("1", {cluster("a", "v1"), cluster("", "v1")}));
  expectRefused("resources[1]: a resource must be sent under");
}

TEST_F(AdsClientDeltaTest, AResponseWithAnOversizedVersionIsNotApplied) {
  // Regression (reviewer): a version of 16 MiB was applied and kept, and every later request
  // echoing it was too large to send: the proxy never took an update again.
  service::discovery::v1::DeltaDiscoveryResponse oversized = response("1", {cluster("a", "v1")});
  oversized.set_system_version_info(std::string(5000, 'v'));
  receive(oversized);
  EXPECT_TRUE(applier.applied.empty());
  EXPECT_EQ(clusters().acks, 0u);
  EXPECT_TRUE(clusters().resources.empty());
}

TEST_F(AdsClientDeltaTest, AResourceWithAnOversizedVersionIsRefused) {
  // Regression (reviewer): a resource's version is kept and sent back on every reconnect; at
  // 16 MiB no reconnect could send its first request.
  receive(response("1", {cluster("a", std::string(5000, 'v'))}));
  expectRefused("resources[0]: its version is over 4096 bytes");
}

// True when `s` is well-formed UTF-8 as far as lead and continuation bytes go.
bool utf8Boundaries(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const size_t n = c < 0x80           ? 1
                     : (c >> 5) == 0x6  ? 2
                     : (c >> 4) == 0xE  ? 3
                     : (c >> 3) == 0x1E ? 4
                                        : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; k++) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

TEST(BoundedErrorTextTest, CutsOnACharacterBoundary) {
  // Regression (reviewer): the cut fell inside a character, and a control plane's protobuf
  // refused the NACK (proto3 strings must be UTF-8).
  std::string text = "a";
  for (int i = 0; i < 3000; i++) text += "\xc3\xa9";  // U+00E9, two bytes each
  const std::string cut = boundedErrorText(text);
  EXPECT_TRUE(utf8Boundaries(cut));
  EXPECT_EQ(cut.substr(4095, 4), "... ");
  EXPECT_THAT(cut, HasSubstr("(1906 more bytes)"));
  EXPECT_EQ(boundedErrorText("short"), "short");
}

}  // namespace
}  // namespace portico::xds
