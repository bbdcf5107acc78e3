#include "source/common/config/yaml_to_json.h"

#include <chrono>
#include <string>

#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace portico::config {
namespace {

using ::testing::HasSubstr;

std::string toJson(const std::string& yaml) {
  auto json = yamlToJson(yaml);
  EXPECT_TRUE(json.ok()) << json.status() << "\n" << yaml;
  return json.ok() ? *json : "";
}

std::string toJsonError(const std::string& yaml) {
  auto json = yamlToJson(yaml);
  EXPECT_FALSE(json.ok()) << "accepted: " << yaml << " -> " << *json;
  return json.ok() ? "" : std::string(json.status().message());
}

// True if `json` is one syntactically valid JSON value.
bool isValidJson(const std::string& json) {
  google::protobuf::Value value;
  return google::protobuf::util::JsonStringToMessage(json, &value).ok();
}

// Regression (reviewer): bytes that are not UTF-8 were read as Latin-1 ("caf\xe9" became
// "café"); YAML is Unicode text. A UTF-8 byte order mark, and UTF-16 with its own, still load.
TEST(YamlToJsonTest, TextIsUnicode) {
  EXPECT_EQ(toJsonError("a: 1\nb: caf\xe9\n"),
            "line 2: bytes that are not UTF-8 (YAML and JSON are UTF-8 text)");
  EXPECT_THAT(toJsonError("# caf\xe9\na: 1\n"), HasSubstr("line 1: "));
  EXPECT_EQ(toJson("a: caf\xc3\xa9\n"), "{\"a\":\"caf\xc3\xa9\"}");
  EXPECT_EQ(toJson("\xef\xbb\xbf"
                   "a: 1\n"),
            R"({"a":1})");
  const std::string utf16le(
      "\xff\xfe"
      "a\0:\0 \0"
      "1\0\n\0",
      12);
  EXPECT_EQ(toJson(utf16le), R"({"a":1})");
}

// Regression (reviewer): a second document after "---" was dropped without a word (a
// control-plane PUT of two resources stored the first; a bootstrap file lost its second half).
TEST(YamlToJsonTest, OneDocumentOnly) {
  EXPECT_EQ(toJsonError("a: 1\n---\nb: 2\n"),
            "more than one YAML document (\"---\"); one document is expected here");
  EXPECT_EQ(toJson("---\na: 1\n"), R"({"a":1})");
  EXPECT_EQ(toJson("a: 1\n---\n"), R"({"a":1})");  // an empty document after it is no data
  EXPECT_EQ(toJson("a: 1\n...\n"), R"({"a":1})");
  EXPECT_EQ(toJson("%YAML 1.2\n---\na: 1\n"), R"({"a":1})");
  EXPECT_EQ(toJson("# comment\n---\n# comment\na: 1\n---\n# the end\n"), R"({"a":1})");
  EXPECT_EQ(toJson("a: |\n  ---\n  x\n"), R"({"a":"---\nx\n"})");  // indented: content
  EXPECT_THAT(toJsonError("a: 1\n...\nb: 2\n"), ::testing::HasSubstr("more than one YAML"));
  EXPECT_THAT(toJsonError("a: 1\n--- {b: 2}\n"), ::testing::HasSubstr("more than one YAML"));
  EXPECT_THAT(toJsonError("--- a\n--- b\n"), ::testing::HasSubstr("more than one YAML"));
}

TEST(YamlToJsonTest, QuotedScalarsStayStrings) {
  EXPECT_EQ(toJson("a: \"123\"\nb: '4.5'\nc: \"true\"\nd: 'null'\n"),
            R"({"a":"123","b":"4.5","c":"true","d":"null"})");
}

TEST(YamlToJsonTest, PlainNumbersBecomeNumbers) {
  EXPECT_EQ(toJson("a: 123\nb: -2.5\nc: 0\nd: 0.5\ne: 1e3\n"),
            R"({"a":123,"b":-2.5,"c":0,"d":0.5,"e":1e3})");
}

TEST(YamlToJsonTest, LeadingZerosHexAndNonFiniteStayStrings) {
  EXPECT_EQ(toJson("a: 007\nb: 0x1F\nc: .inf\nd: nan\ne: 12abc\n"),
            R"({"a":"007","b":"0x1F","c":".inf","d":"nan","e":"12abc"})");
}

TEST(YamlToJsonTest, BooleansAndNulls) {
  EXPECT_EQ(toJson("a: true\nb: false\nc: null\nd: ~\ne:\nf: yes\n"),
            R"({"a":true,"b":false,"c":null,"d":null,"e":null,"f":"yes"})");
}

// Every plain scalar that looks numeric must become valid JSON (a number or a string).
// Regression (was a bug) in yaml_to_json.cc looksNumeric(): absl::SimpleAtod accepts "+5", ".5" and
// "-01", which are copied verbatim into the output and make it invalid JSON ({"port":+5}); the
// user gets a protobuf JSON parse error pointing at text they never wrote.
TEST(YamlToJsonTest, NumberLikeScalarsAlwaysGiveValidJson) {
  for (const char* scalar : {"+5", ".5", "5.", "-01", "-.5"}) {
    const std::string json = toJson(std::string("port: ") + scalar + "\n");
    EXPECT_TRUE(isValidJson(json)) << scalar << " -> " << json;
  }
}

TEST(YamlToJsonTest, NestedMapsAndSequencesKeepTheirOrder) {
  EXPECT_EQ(
      toJson(R"(
z: {y: {x: deep}}
list:
- 1
- "two"
- {k: v, n: [a, b]}
- []
- {}
a: last
)"),
      R"({"z":{"y":{"x":"deep"}},"list":[1,"two",{"k":"v","n":["a","b"]},[],{}],"a":"last"})");
}

TEST(YamlToJsonTest, StringsAreEscaped) {
  const std::string json = toJson("a: \"q\\\"uote back\\\\slash\\nnew\\ttab\\x01\"\n");
  EXPECT_EQ(json, R"({"a":"q\"uote back\\slash\nnew\ttab\u0001"})");
  EXPECT_TRUE(isValidJson(json));
}

TEST(YamlToJsonTest, DurationsAreRewrittenForTimeoutAndIntervalKeys) {
  EXPECT_EQ(toJson("connect_timeout: 250ms\nhealth_interval: 2m\nidle_timeout: 1h\n"
                   "timeout: 100us\nx_timeout: 1.5ms\n"),
            R"({"connect_timeout":"0.250000000s","health_interval":"120.000000000s",)"
            R"("idle_timeout":"3600.000000000s","timeout":"0.000100000s",)"
            R"("x_timeout":"0.001500000s"})");
}

TEST(YamlToJsonTest, DurationsAreLeftAloneForOtherKeysAndOtherForms) {
  EXPECT_EQ(toJson("name: 250ms\ntimeouts: 250ms\ntimeout_ms: 250ms\ntimeout: 5s\n"
                   "idle_timeout: 10\nlist_timeout: [250ms]\n"),
            R"({"name":"250ms","timeouts":"250ms","timeout_ms":"250ms","timeout":"5s",)"
            R"("idle_timeout":10,"list_timeout":["250ms"]})");
}

TEST(YamlToJsonTest, MetadataValuesAreKeptAsWritten) {
  // Regression (reviewer): node metadata is free-form; "30m" went out as "1800.000000000s".
  EXPECT_EQ(toJson("node: {metadata: {session_timeout: 30m}, idle_timeout: 1m}\n"),
            R"({"node":{"metadata":{"session_timeout":"30m"},"idle_timeout":"60.000000000s"}})");
  // And target labels, which are matched against metadata.
  EXPECT_EQ(toJson("targets: {labels: {probe_interval: 5m}}\n"),
            R"({"targets":{"labels":{"probe_interval":"5m"}}})");
}

TEST(YamlToJsonTest, DuplicateKeysAreRefusedWithTheLine) {
  // Regression (reviewer): both were kept and protobuf took the last silently.
  EXPECT_EQ(toJsonError("a: 1\nconnect_timeout: 1s\nb: 2\nconnect_timeout: 30s\n"),
            "line 4: duplicate key 'connect_timeout'");
  EXPECT_EQ(toJson("a: {x: 1}\nb: {x: 2}\n"), R"({"a":{"x":1},"b":{"x":2}})");
}

// Regression (reviewer): protobuf's JSON parser reads "connectTimeout" as connect_timeout, so
// both spellings got through the check and the last won (two lists were joined).
TEST(YamlToJsonTest, AFieldInBothSpellingsIsADuplicate) {
  EXPECT_EQ(toJsonError("connect_timeout: 1s\nconnectTimeout: 30s\n"),
            "line 2: duplicate key 'connectTimeout' (the field 'connect_timeout')");
  EXPECT_EQ(toJsonError("virtualHosts: []\nvirtual_hosts: []\n"),
            "line 2: duplicate key 'virtual_hosts' (the field 'virtualHosts')");
  // Free-form maps keep their keys as written: these are two labels.
  EXPECT_EQ(toJson("labels: {zoneName: a, zone_name: b}\n"),
            R"({"labels":{"zoneName":"a","zone_name":"b"}})");
  // A duration in lowerCamelCase is read as one too.
  EXPECT_EQ(toJson("connectTimeout: 250ms\n"), R"({"connectTimeout":"0.250000000s"})");
}

TEST(YamlToJsonTest, NegativeDurationIsNotRewritten) {
  EXPECT_EQ(toJson("timeout: -250ms\n"), R"({"timeout":"-250ms"})");
}

TEST(YamlToJsonTest, SyntaxErrorsCarryTheLineAndColumn) {
  EXPECT_EQ(toJsonError("a: 1\nb: 2\nc: d: e\n"),
            "YAML syntax error at line 3, column 5: illegal map value");
  EXPECT_THAT(toJsonError("a: 1\n b: 2\nc: 3\n"), HasSubstr("at line 2, column 3"));
  EXPECT_THAT(toJsonError("a: 1\nb: 2\n- c\n"), HasSubstr("at line 3, column 1"));
}

TEST(YamlToJsonTest, NonScalarMappingKeysAreRefusedWithTheLine) {
  EXPECT_THAT(toJsonError("a: 1\n? [x, y]\n: 2\n"),
              HasSubstr("line 2: mapping keys must be plain strings"));
}

TEST(YamlToJsonTest, DeepNestingIsRefused) {
  const std::string yaml = std::string(100, '[') + std::string(100, ']');
  EXPECT_THAT(toJsonError(yaml), HasSubstr("nested too deeply"));
}

TEST(YamlToJsonTest, JsonInputIsAlsoYaml) {
  EXPECT_EQ(toJson(R"({"a": [1, "b"], "c": {"d": null}})"), R"({"a":[1,"b"],"c":{"d":null}})");
}

// "Billion laughs": nine lines of anchors stand for 10^9 scalars. Refused quickly with a
// clear error instead of filling memory (the control plane parses what its API receives).
TEST(YamlToJsonTest, AliasExpansionIsBounded) {
  std::string yaml = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  for (char c = 'b'; c <= 'i'; c++) {
    const char prev = static_cast<char>(c - 1);
    yaml += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 10; i++) yaml += std::string(i ? ", *" : "*") + prev;
    yaml += "]\n";
  }
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THAT(toJsonError(yaml), HasSubstr("YAML expands to more than 16777216 bytes"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  // Anchors used as intended (a shared block repeated a few times) are fine.
  EXPECT_EQ(toJson("base: &b {x: 1}\nuses: [*b, *b, *b]\n"),
            R"({"base":{"x":1},"uses":[{"x":1},{"x":1},{"x":1}]})");
}

}  // namespace
}  // namespace portico::config
