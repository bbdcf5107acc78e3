#include "source/control_plane/api/rest_api.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test/control_plane/test_resources.h"

namespace portico::control_plane {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class RestApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = getenv("TEST_TMPDIR");
    std::string base = std::string(tmp ? tmp : "/tmp") + "/apiXXXXXX";
    dir_ = mkdtemp(base.data());
    std::ofstream(dir_ + "/base.yaml")
        << test::docs({test::clusterYaml("a"), test::routeYaml("r", "a")});
    store_ = std::make_unique<DirectoryStore>(dir_);
    controller_ = std::make_unique<Controller>(*store_, cache_);
    ASSERT_TRUE(controller_->reload().ok());
    api_ = std::make_unique<RestApi>(*controller_, fleet_, "t0ken");
  }
  http::LocalResponse call(const std::string& method, const std::string& path,
                           const std::string& body = "", const std::string& token = "t0ken") {
    http::LocalRequest r;
    r.method = method;
    r.raw_path = path;
    r.path = http::percentDecode(path);
    r.body = body;
    if (!token.empty()) r.headers["authorization"] = "Bearer " + token;
    return api_->handle(r);
  }

  std::string dir_;
  SnapshotCacheImpl cache_;
  FleetRegistry fleet_;
  std::unique_ptr<DirectoryStore> store_;
  std::unique_ptr<Controller> controller_;
  std::unique_ptr<RestApi> api_;
};

TEST_F(RestApiTest, TokenIsRequiredExceptForHealth) {
  EXPECT_EQ(call("GET", "/v1/resources", "", "").status, 401);
  EXPECT_EQ(call("GET", "/v1/resources", "", "wrong").status, 401);
  EXPECT_EQ(call("GET", "/metrics", "", "").status, 401);
  EXPECT_EQ(call("GET", "/healthz", "", "").status, 200);
  EXPECT_EQ(call("GET", "/v1/resources").status, 200);
}

TEST_F(RestApiTest, GetListsAndFetches) {
  auto all = call("GET", "/v1/resources");
  EXPECT_THAT(all.body, HasSubstr("\"name\":\"a\""));
  EXPECT_THAT(all.body, HasSubstr("\"name\":\"r\""));
  auto one = call("GET", "/v1/resources/clusters/a");
  EXPECT_EQ(one.status, 200);
  EXPECT_THAT(one.body, HasSubstr("\"origin\":\"base.yaml#1\""));
  EXPECT_EQ(call("GET", "/v1/resources/Cluster/zz").status, 404);
  EXPECT_EQ(call("GET", "/v1/resources/Widget").status, 404);
}

TEST_F(RestApiTest, PutValidatesAndPublishes) {
  const std::string v1 = cache_.current()->version();
  auto bad = call("PUT", "/v1/resources/Cluster/b",
                  "spec: {name: b, load_assignment: {endpoints: [{address: {address: 1.2.3.4, "
                  "port: 99999}}]}}");
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(bad.body, HasSubstr("\"field\":\"spec.load_assignment.endpoints[0].address.port\""));
  EXPECT_EQ(cache_.current()->version(), v1);  // nothing pushed

  auto mismatch = call("PUT", "/v1/resources/Cluster/b", "spec: {name: c}");
  EXPECT_EQ(mismatch.status, 400);
  EXPECT_THAT(mismatch.body, HasSubstr("does not match"));

  auto good = call("PUT", "/v1/resources/Cluster/b", "{\"spec\": {\"name\": \"b\"}}");
  EXPECT_EQ(good.status, 201) << good.body;
  EXPECT_NE(cache_.current()->version(), v1);
  EXPECT_EQ(call("PUT", "/v1/resources/Cluster/b", "spec: {name: b, connect_timeout: 2s}").status,
            200);

  auto dangling =
      call("PUT", "/v1/resources/RouteConfiguration/r", test::routeYaml("r", "nowhere"));
  EXPECT_EQ(dangling.status, 400);
  EXPECT_THAT(dangling.body, HasSubstr("spec.virtual_hosts[0].routes[0].route.cluster"));
}

// The directory of the running test, for the rename stand-in below (a plain function).
std::string hand_edit_dir;

// Renames as usual, after "a hand edit" lands in the directory: a route naming a cluster that
// does not exist.
int renameAfterAHandEdit(const char* from, const char* to) {
  std::ofstream(hand_edit_dir + "/hand.yaml") << test::routeYaml("hand", "ghost");
  return ::rename(from, to);
}

// Regression (reviewer): an edit by hand between the API's load and its write made the
// combined directory invalid; the client got 400 although its change was on disk.
TEST_F(RestApiTest, AWriteThatLandsBesideAnInvalidHandEditSaysItWasWritten) {
  hand_edit_dir = dir_;
  DirectoryStore::setRenameForTest(&renameAfterAHandEdit);
  auto put = call("PUT", "/v1/resources/Cluster/b", "spec: {name: b}");
  DirectoryStore::setRenameForTest(nullptr);
  EXPECT_EQ(put.status, 409) << put.body;
  EXPECT_THAT(put.body, HasSubstr("the change was written"));
  EXPECT_THAT(put.body, HasSubstr("ghost"));
}

// Regression (reviewer): the path was decoded before it was split, so a name with '/' (valid
// in the store) could not be fetched, replaced or deleted.
TEST_F(RestApiTest, ANameWithASlashIsOneSegmentWhenEncoded) {
  const std::string path =
      "/v1/resources/RouteConfiguration/" + http::percentEncodePathSegment("api/v1");
  EXPECT_EQ(path, "/v1/resources/RouteConfiguration/api%2Fv1");
  auto put = call("PUT", path, test::routeYaml("api/v1", "a"));
  EXPECT_EQ(put.status, 201) << put.body;
  auto get = call("GET", path);
  EXPECT_EQ(get.status, 200) << get.body;
  EXPECT_THAT(get.body, HasSubstr("\"name\":\"api/v1\""));
  EXPECT_EQ(call("GET", "/v1/resources/RouteConfiguration/api/v1").status, 404);
  EXPECT_EQ(call("DELETE", path).status, 200);
  EXPECT_EQ(call("GET", path).status, 404);
}

// Regression (reviewer): a write started from the last load, so an edit by hand not reloaded
// yet was overwritten, and one that did not load was written next to.
TEST_F(RestApiTest, WritesStartFromWhatIsOnDisk) {
  std::ofstream(dir_ + "/base.yaml") << test::docs(
      {test::clusterYaml("a"), test::routeYaml("r", "a"), test::clusterYaml("by_hand")});
  auto put = call("PUT", "/v1/resources/Cluster/a", "spec: {name: a, connect_timeout: 3s}");
  EXPECT_EQ(put.status, 200) << put.body;
  std::ifstream in(dir_ + "/base.yaml");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_THAT(text, HasSubstr("by_hand"));
  EXPECT_TRUE(controller_->resources().contains(ResourceKey{Kind::kCluster, "by_hand"}));

  std::ofstream(dir_ + "/broken.yaml") << test::routeYaml("broken", "nowhere");
  auto refused = call("PUT", "/v1/resources/Cluster/b", "spec: {name: b}");
  EXPECT_EQ(refused.status, 409) << refused.body;
  EXPECT_THAT(refused.body, HasSubstr("fix or revert"));
  std::ifstream b_file(dir_ + "/cluster-b.yaml");
  EXPECT_FALSE(b_file.good());
}

// Regression (noticed): 200/201 and created/updated/unchanged were judged against the last
// publish, not against the directory the write started from: a resource added by hand and not
// reloaded yet was "created" by the PUT that updated it.
TEST_F(RestApiTest, WriteResultsAreJudgedByWhatTheWriteFoundOnDisk) {
  std::ofstream(dir_ + "/hand.yaml") << test::docs({test::clusterYaml("h", 81)});
  auto put = call("PUT", "/v1/resources/Cluster/h", "spec: {name: h, connect_timeout: 3s}");
  EXPECT_EQ(put.status, 200) << put.body;
  std::ofstream(dir_ + "/hand2.yaml") << test::docs({test::clusterYaml("h2", 82)});
  http::LocalRequest dry_run;
  dry_run.method = "POST";
  dry_run.path = "/v1/apply";
  dry_run.query["dry_run"] = "true";
  dry_run.headers["authorization"] = "Bearer t0ken";
  dry_run.body = test::clusterYaml("h2", 82);
  auto dry = api_->handle(dry_run);
  EXPECT_EQ(dry.status, 200) << dry.body;
  EXPECT_THAT(dry.body, HasSubstr("\"result\":\"unchanged\""));
  auto applied = call("POST", "/v1/apply", test::clusterYaml("h2", 83));
  EXPECT_EQ(applied.status, 200) << applied.body;
  EXPECT_THAT(applied.body, HasSubstr("\"result\":\"updated\""));
}

TEST_F(RestApiTest, DeleteRefusesWhatIsStillReferenced) {
  auto in_use = call("DELETE", "/v1/resources/Cluster/a");
  EXPECT_EQ(in_use.status, 400);
  EXPECT_THAT(in_use.body, HasSubstr("unknown Cluster 'a'"));
  EXPECT_EQ(call("DELETE", "/v1/resources/RouteConfiguration/r").status, 200);
  EXPECT_EQ(call("DELETE", "/v1/resources/Cluster/a").status, 200);
  EXPECT_EQ(call("DELETE", "/v1/resources/Cluster/a").status, 404);
  EXPECT_TRUE(controller_->resources().empty());
}

TEST_F(RestApiTest, ApplyIsAllOrNothingAndDryRunChangesNothing) {
  const std::string v1 = cache_.current()->version();
  auto bad = call("POST", "/v1/apply",
                  test::docs({test::clusterYaml("n1"), test::routeYaml("r2", "missing")}));
  EXPECT_EQ(bad.status, 400);
  EXPECT_FALSE(controller_->resources().contains({Kind::kCluster, "n1"}));
  http::LocalRequest dry;
  dry.method = "POST";
  dry.path = "/v1/apply";
  dry.query["dry_run"] = "true";
  dry.headers["authorization"] = "Bearer t0ken";
  dry.body = test::clusterYaml("n1");
  auto d = api_->handle(dry);
  EXPECT_EQ(d.status, 200);
  EXPECT_THAT(d.body, HasSubstr("\"result\":\"created\""));
  EXPECT_EQ(cache_.current()->version(), v1);
  // Regression (reviewer): a value or a name it does not know wrote for real.
  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"dry_run", "True"}, {"dry_run", "yes"}, {"dry-run", "true"}}) {
    dry.query.clear();
    dry.query[name] = value;
    auto refused = api_->handle(dry);
    EXPECT_EQ(refused.status, 400) << name << "=" << value;
    EXPECT_EQ(cache_.current()->version(), v1) << name << "=" << value;
  }
  auto ok =
      call("POST", "/v1/apply", test::docs({test::clusterYaml("n1"), test::clusterYaml("a")}));
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_THAT(ok.body, HasSubstr("{\"resource\":\"Cluster/a\",\"result\":\"unchanged\"}"));
  EXPECT_TRUE(controller_->resources().contains({Kind::kCluster, "n1"}));
}

TEST_F(RestApiTest, FleetAndMetrics) {
  config::v1::Node n;
  n.set_id("proxy-1");
  n.set_cluster("edge");
  fleet_.onStreamOpen(7, std::make_shared<const config::v1::Node>(n), false);
  fleet_.onResponse(7, Kind::kCluster, "v2", "1", 100);
  EXPECT_THAT(call("GET", "/v1/fleet").body, HasSubstr("\"pending\":true"));
  fleet_.onNack(7, Kind::kCluster, "v1", "spec.name: bad");
  auto f = call("GET", "/v1/fleet");
  EXPECT_THAT(f.body, HasSubstr("\"id\":\"proxy-1\""));
  EXPECT_THAT(f.body, HasSubstr("\"last_nack_error\":\"spec.name: bad\""));
  // Answered (refused): no longer on the wire.
  EXPECT_THAT(f.body, Not(HasSubstr("\"pending\":true")));
  EXPECT_THAT(f.body, HasSubstr("\"refused\":true"));
  auto m = call("GET", "/metrics");
  EXPECT_THAT(m.body, HasSubstr("portico_control_connected_nodes 1"));
  EXPECT_THAT(m.body, HasSubstr("portico_control_node_nacks_total{node=\"proxy-1\",cluster="
                                "\"edge\",type=\"Cluster\",stream=\"7\"} 1"));
  fleet_.onStreamClosed(7);
  EXPECT_THAT(call("GET", "/metrics").body, HasSubstr("portico_control_connected_nodes 0"));
}

}  // namespace
}  // namespace portico::control_plane
