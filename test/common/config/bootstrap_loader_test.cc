#include "source/common/config/bootstrap_loader.h"

#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "source/common/config/duration.h"

namespace portico::config {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kMinimal[] = R"(
drain_timeout: 250ms
static_resources:
  clusters:
  - name: backend
    connect_timeout: 1.5s
    lb_policy: LEAST_REQUEST
    load_assignment:
      endpoints:
      - address: {address: 127.0.0.1, port: 8080}
        load_balancing_weight: 3
)";

std::string parseError(const std::string& yaml) {
  auto bootstrap = parseBootstrapYaml(yaml);
  EXPECT_FALSE(bootstrap.ok()) << "accepted:\n" << yaml;
  return bootstrap.ok() ? "" : std::string(bootstrap.status().message());
}

class BootstrapFileTest : public ::testing::Test {
 protected:
  std::string writeFile(const std::string& name, const std::string& content) {
    const char* dir = std::getenv("TEST_TMPDIR");
    std::string path = std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
    std::ofstream(path) << content;
    return path;
  }
};

TEST(BootstrapLoaderTest, ParsesYamlIntoTheProto) {
  auto bootstrap = parseBootstrapYaml(kMinimal);
  ASSERT_TRUE(bootstrap.ok()) << bootstrap.status();
  EXPECT_EQ(bootstrap->drain_timeout().nanos(), 250000000);
  const auto& cluster = bootstrap->static_resources().clusters(0);
  EXPECT_EQ(cluster.name(), "backend");
  EXPECT_EQ(cluster.connect_timeout().seconds(), 1);
  EXPECT_EQ(cluster.connect_timeout().nanos(), 500000000);
  EXPECT_EQ(cluster.lb_policy(), v1::Cluster::LEAST_REQUEST);
  EXPECT_EQ(cluster.load_assignment().endpoints(0).address().port(), 8080u);
  EXPECT_EQ(cluster.load_assignment().endpoints(0).load_balancing_weight(), 3u);
}

TEST(BootstrapLoaderTest, UnknownFieldIsAnErrorNamingIt) {
  EXPECT_THAT(parseError("static_resources:\n  listeners:\n  - name: l\n    bogus_field: 1\n"),
              HasSubstr("bogus_field"));
  EXPECT_THAT(parseError("not_a_bootstrap_field: true\n"), HasSubstr("not_a_bootstrap_field"));
}

TEST(BootstrapLoaderTest, WrongTypeIsAnError) {
  EXPECT_THAT(parseError("static_resources:\n  clusters:\n  - name: [a, b]\n"), HasSubstr("name"));
  EXPECT_FALSE(parseBootstrapYaml("static_resources:\n  clusters:\n  - lb_policy: FASTEST\n").ok());
}

TEST(BootstrapLoaderTest, YamlSyntaxErrorKeepsTheLine) {
  EXPECT_THAT(parseError("admin:\n  address: {address: 127.0.0.1\n"), HasSubstr("line"));
}

TEST_F(BootstrapFileTest, LoadsAFile) {
  auto bootstrap = loadBootstrapFile(writeFile("ok.yaml", kMinimal));
  ASSERT_TRUE(bootstrap.ok()) << bootstrap.status();
  EXPECT_EQ(bootstrap->static_resources().clusters_size(), 1);
}

TEST_F(BootstrapFileTest, MissingFileIsNotFoundNamingThePath) {
  auto bootstrap = loadBootstrapFile("/nonexistent/portico.yaml");
  ASSERT_FALSE(bootstrap.ok());
  EXPECT_EQ(bootstrap.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(bootstrap.status().message()), HasSubstr("/nonexistent/portico.yaml"));
}

TEST_F(BootstrapFileTest, ErrorsInAFileArePrefixedWithItsPath) {
  const std::string path = writeFile("bad.yaml", "bogus: 1\n");
  auto bootstrap = loadBootstrapFile(path);
  ASSERT_FALSE(bootstrap.ok());
  EXPECT_THAT(std::string(bootstrap.status().message()), StartsWith(path + ": "));
  EXPECT_THAT(std::string(bootstrap.status().message()), HasSubstr("bogus"));
}

google::protobuf::Duration duration(int64_t seconds, int32_t nanos) {
  google::protobuf::Duration d;
  d.set_seconds(seconds);
  d.set_nanos(nanos);
  return d;
}

TEST(DurationTest, ConvertsToWholeMilliseconds) {
  EXPECT_EQ(*toMilliseconds(duration(1, 500000000), "f"), std::chrono::milliseconds(1500));
  EXPECT_EQ(*toMilliseconds(duration(1, 999999), "f"), std::chrono::milliseconds(1000));
  // Under 1 ms but not zero: 1 ms, not 0 ("off" for most timeouts).
  EXPECT_EQ(*toMilliseconds(duration(0, 999999), "f"), std::chrono::milliseconds(1));
  EXPECT_EQ(*toMilliseconds(duration(0, 1), "f"), std::chrono::milliseconds(1));
  EXPECT_EQ(*toMilliseconds(duration(0, 0), "f"), std::chrono::milliseconds(0));
}

TEST(DurationTest, NegativeIsRefusedNamingTheField) {
  auto d = toMilliseconds(duration(-1, 0), "clusters[0].connect_timeout");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().message(), "clusters[0].connect_timeout: must not be negative");
  EXPECT_FALSE(toMilliseconds(duration(0, -1), "f").ok());
}

TEST(DurationTest, NanosOfASecondOrMoreAreRefused) {
  // Binary protobuf (xDS) can carry them; /config_dump's JSON could not show them.
  auto d = toMilliseconds(duration(0, 1500000000), "clusters[0].connect_timeout");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().message(), "clusters[0].connect_timeout: nanos must be below one second");
  EXPECT_TRUE(toMilliseconds(duration(0, 999999999), "f").ok());
}

TEST(DurationTest, MoreThanAYearIsRefused) {
  EXPECT_TRUE(toMilliseconds(duration(365LL * 24 * 3600, 0), "f").ok());
  EXPECT_THAT(
      std::string(toMilliseconds(duration(365LL * 24 * 3600 + 1, 0), "f").status().message()),
      HasSubstr("at most one year"));
}

TEST(BootstrapLoaderTest, DocumentsThatAreNotABootstrapSaySo) {
  EXPECT_THAT(std::string(parseBootstrapYaml("").status().message()),
              HasSubstr("the document is empty"));
  EXPECT_THAT(std::string(parseBootstrapYaml("# only a comment\n").status().message()),
              HasSubstr("the document is empty"));
  EXPECT_THAT(std::string(parseBootstrapYaml("- a\n- b\n").status().message()),
              HasSubstr("must be a mapping"));
  EXPECT_THAT(std::string(parseBootstrapYaml("hello").status().message()),
              HasSubstr("must be a mapping"));
}

TEST(BootstrapLoaderTest, UnreadableAndEndlessFilesAreRefused) {
  const char* tmp = getenv("TEST_TMPDIR");
  const std::string dir = tmp != nullptr ? tmp : "/tmp";
  EXPECT_THAT(std::string(loadBootstrapFile(dir).status().message()),
              HasSubstr("': Is a directory"));
  EXPECT_THAT(std::string(loadBootstrapFile(dir + "/missing.yaml").status().message()),
              HasSubstr("': No such file or directory"));
  // An endless source stops at the limit instead of filling memory.
  EXPECT_THAT(std::string(loadBootstrapFile("/dev/zero").status().message()),
              HasSubstr("larger than 16777216 bytes"));
}

}  // namespace
}  // namespace portico::config
