#include "source/control_plane/store/resource_parser.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "portico/config/v1/cluster.pb.h"
#include "test/control_plane/test_resources.h"

namespace portico::control_plane {
namespace {

using ::testing::HasSubstr;

std::string parseError(const std::string& yaml) {
  auto r = parseResources(yaml, "f.yaml");
  EXPECT_FALSE(r.ok());
  return r.ok() ? "" : std::string(r.status().message());
}

TEST(ResourceParserTest, ParsesSeveralDocumentsWithTargets) {
  auto r = parseResources(test::docs({test::clusterYaml("a"),
                                      test::clusterYaml("b", 81,
                                                        "{cluster: edge, labels: "
                                                        "{region: eu}}"),
                                      "# only a comment\n", test::routeYaml("r", "a")}),
                          "f.yaml");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 3);
  EXPECT_EQ((*r)[0]->name, "a");
  EXPECT_EQ((*r)[0]->origin, "f.yaml#1");
  EXPECT_TRUE((*r)[0]->targets.empty());
  EXPECT_EQ((*r)[1]->targets.cluster, "edge");
  EXPECT_EQ((*r)[1]->targets.labels.at("region"), "eu");
  EXPECT_EQ((*r)[2]->kind, Kind::kRouteConfiguration);
  EXPECT_EQ((*r)[2]->origin, "f.yaml#3");
  const auto& c = static_cast<const config::v1::Cluster&>(*(*r)[1]->spec);
  EXPECT_EQ(c.load_assignment().endpoints(0).address().port(), 81);
}

// Regression (reviewer): a document written on its "---" line was dropped without a word.
TEST(ResourceParserTest, ADocumentMayBeginOnItsMarkerLine) {
  auto r = parseResources(
      "--- {kind: Cluster, spec: {name: a}}\n--- {kind: Cluster, spec: "
      "{name: b}}\n---\nkind: Cluster\nspec: {name: c}\n",
      "f.yaml");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0]->name, "a");
  EXPECT_EQ((*r)[1]->name, "b");
  EXPECT_EQ((*r)[2]->name, "c");
  EXPECT_THAT(parseError("---\n--- {kind: Cluster, spec: {name: a, bad: 1}}\n"),
              HasSubstr("f.yaml#1"));
}

// Regression (reviewer): bytes that are not UTF-8 were taken as Latin-1 ("/caf\xE9" became
// "/café"), so a route matched a path nobody wrote. YAML is UTF-8 text: refused.
TEST(ResourceParserTest, TextThatIsNotUtf8IsRefused) {
  EXPECT_THAT(parseError("kind: RouteConfiguration\nspec:\n  name: \"caf\xe9\"\n"),
              HasSubstr("line 3: bytes that are not UTF-8"));
}

TEST(ResourceParserTest, VersionsFollowContentOnly) {
  auto a = parseResources(test::clusterYaml("a"), "x.yaml");
  auto b = parseResources("# other file\n" + test::clusterYaml("a"), "y.yaml");
  auto c = parseResources(test::clusterYaml("a", 81), "x.yaml");
  auto d = parseResources(test::clusterYaml("a", 8080, "{cluster: edge}"), "x.yaml");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok() && d.ok());
  EXPECT_EQ((*a)[0]->version, (*b)[0]->version);
  EXPECT_NE((*a)[0]->version, (*c)[0]->version);
  EXPECT_NE((*a)[0]->version, (*d)[0]->version);  // targets are part of the content
}

TEST(ResourceParserTest, ErrorsNameDocumentAndField) {
  EXPECT_THAT(
      parseError(test::clusterYaml("a") + "---\nkind: Cluster\nspec: {name: b, bogus: 1}\n"),
      HasSubstr("f.yaml#2: spec:"));
  EXPECT_THAT(parseError("kind: Cluster\nspec: {name: b, bogus: 1}\n"), HasSubstr("bogus"));
  EXPECT_THAT(parseError("kind: Nope\nspec: {name: b}\n"),
              HasSubstr("f.yaml#1: kind: unknown kind"));
  EXPECT_THAT(parseError("spec: {name: b}\n"), HasSubstr("kind: must be set"));
  EXPECT_THAT(parseError("kind: Cluster\n"), HasSubstr("spec: must be set"));
  EXPECT_THAT(parseError("kind: Cluster\nspec: {connect_timeout: 1s}\n"),
              HasSubstr("spec.name: must not be empty"));
  EXPECT_THAT(parseError("kind: Cluster\nextra: 1\nspec: {name: a}\n"),
              HasSubstr("extra: unknown field"));
  EXPECT_THAT(parseError("kind: Cluster\ntargets: {node: x}\nspec: {name: a}\n"),
              HasSubstr("targets.node: unknown field"));
  EXPECT_THAT(parseError("kind: Cluster\nspec: {name: a\n"), HasSubstr("line"));
}

// Found by control_plane_resources_fuzz: a label name of 600 bytes that are not UTF-8 was
// accepted (as 1200 bytes of Latin-1 text), and the store could not read back the file it wrote:
// YAML ends an implicit key at 1024 characters.
TEST(ResourceParserTest, TargetsAreCheckedText) {
  const std::string long_name = std::string(254, 'k');
  EXPECT_THAT(
      parseError("kind: Cluster\ntargets: {labels: {" + long_name + ": eu}}\nspec: {name: a}\n"),
      HasSubstr("f.yaml#1: targets.labels: label name \"kkkk"));
  EXPECT_THAT(
      parseError("kind: Cluster\ntargets: {labels: {" + long_name + ": eu}}\nspec: {name: a}\n"),
      HasSubstr("k\"... must be 1-253 bytes of UTF-8 without control characters"));
  EXPECT_THAT(
      parseError("kind: Cluster\ntargets: {labels: {\"a\\u0085b\": eu}}\nspec: {name: a}\n"),
      HasSubstr("label name \"a\xc2\x85"
                "b\" must be"));
  EXPECT_THAT(parseError("kind: Cluster\ntargets: {labels: {region: \"e\\u0006u\"}}\n"
                         "spec: {name: a}\n"),
              HasSubstr("targets.labels.region: must be UTF-8 without control characters"));
  EXPECT_THAT(parseError("kind: Cluster\ntargets: {cluster: \"ed\\nge\"}\nspec: {name: a}\n"),
              HasSubstr("targets.cluster: must be UTF-8 without control characters"));

  // Node metadata keys are free-form: so are label names, within the rules above.
  auto ok = parseResources(
      "kind: Cluster\ntargets: {cluster: \"\xc3\xa9"
      "dge\", labels: {"
      "topology.io/zone: \"z\xc3\xa9\", \"app:name@v1 \xc3\xa9\": x, " +
          std::string(253, 'k') + ": y}}\nspec: {name: a}\n",
      "f.yaml");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ((*ok)[0]->targets.labels.size(), 3u);
  auto again = parseResources(resourcesToFileText(*ok), "g.yaml");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*again)[0]->targets, (*ok)[0]->targets);
  EXPECT_EQ((*again)[0]->version, (*ok)[0]->version);
}

// key() joins with "," and "=", which values may hold; versions must still tell these apart.
TEST(ResourceParserTest, VersionsTellTargetSetsApart) {
  auto one =
      parseResources("kind: Cluster\ntargets: {labels: {a: \"1,b=2\"}}\nspec: {name: x}\n", "f");
  auto two = parseResources(
      "kind: Cluster\ntargets: {labels: {a: \"1\", b: \"2\"}}\nspec: {name: x}\n", "f");
  ASSERT_TRUE(one.ok() && two.ok());
  EXPECT_EQ((*one)[0]->targets.key(), (*two)[0]->targets.key());
  EXPECT_NE((*one)[0]->version, (*two)[0]->version);
}

TEST(ResourceParserTest, KindFromPathMustAgree) {
  auto ok = parseResourceWithKind("spec: {name: a}", Kind::kCluster, "api");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ((*ok)->name, "a");
  auto bad = parseResourceWithKind("kind: Listener\nspec: {name: a}", Kind::kCluster, "api");
  EXPECT_FALSE(bad.ok());
}

TEST(ResourceParserTest, FileTextRoundTrips) {
  auto r = parseResources(test::docs({test::clusterYaml("a", 80, "{labels: {x: \"1\"}}"),
                                      test::listenerYaml("l", "r", 10000)}),
                          "f.yaml");
  ASSERT_TRUE(r.ok()) << r.status();
  auto again = parseResources(resourcesToFileText(*r), "g.yaml");
  ASSERT_TRUE(again.ok()) << again.status() << "\n" << resourcesToFileText(*r);
  ASSERT_EQ(again->size(), 2);
  EXPECT_EQ((*again)[0]->version, (*r)[0]->version);
  EXPECT_EQ((*again)[1]->version, (*r)[1]->version);
  EXPECT_EQ((*again)[0]->targets.labels.at("x"), "1");
}

TEST(ResourceParserTest, KindNames) {
  EXPECT_EQ(*parseKind("clusters"), Kind::kCluster);
  EXPECT_EQ(*parseKind("CLA"), Kind::kClusterLoadAssignment);
  EXPECT_EQ(*parseKind("routes"), Kind::kRouteConfiguration);
  EXPECT_EQ(*kindFromTypeUrl("type.googleapis.com/portico.config.v1.Listener"), Kind::kListener);
  EXPECT_FALSE(kindFromTypeUrl("type.googleapis.com/envoy.Cluster").ok());
}

}  // namespace
}  // namespace portico::control_plane
