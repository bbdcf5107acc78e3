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
  const TypeState& clusters() { return client.typeStates().at(kClusterType); }

  event::DispatcherPtr dispatcher = event::createDispatcher();
  RecordingApplier applier;
  AdsClient client{*dispatcher, {}, {}, applier, /*delta=*/true};
};

TEST_F(AdsClientDeltaTest, ANameSentTwiceIsRefused) {
  // Regression (reviewer): the last copy won silently, and what the server took for ACKed
  // was ambiguous.
  service::discovery::v1::DeltaDiscoveryResponse response;
  response.set_type_url(kClusterType);
  response.set_nonce("1");
  *response.add_resources() = cluster("a", "v1");
  *response.add_resources() = cluster("a", "v2");
  receive(response);
  EXPECT_TRUE(applier.applied.empty());
  EXPECT_EQ(clusters().nacks, 1u);
  EXPECT_THAT(clusters().last_error, HasSubstr("resources[1]: 'a' is sent twice"));
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

}  // namespace
}  // namespace portico::xds
