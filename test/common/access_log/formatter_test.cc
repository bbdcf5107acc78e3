#include "source/common/access_log/formatter.h"

#include <chrono>
#include <string>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "source/common/http/stream_info.h"

namespace portico::access_log {
namespace {

using ::testing::HasSubstr;

// True if `s` is well-formed UTF-8 (what RFC 8259 requires of JSON text); overlong 3- and
// 4-byte forms are not checked.
bool isValidUtf8(absl::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t extra;
    if (c < 0x80) {
      extra = 0;
    } else if (c >= 0xc2 && c <= 0xdf) {
      extra = 1;
    } else if ((c & 0xf0) == 0xe0) {
      extra = 2;
    } else if (c >= 0xf0 && c <= 0xf4) {
      extra = 3;
    } else {
      return false;
    }
    if (s.size() - i <= extra) return false;
    for (size_t k = 1; k <= extra; k++) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
    }
    i += extra + 1;
  }
  return true;
}

class FormatterTest : public ::testing::Test {
 protected:
  FormatterTest() {
    request_.method = "GET";
    request_.path = "/p?q=1";
    request_.headers.add("host", "example.com");
    request_.headers.add("user-agent", "curl/8");
    request_.headers.add("x-request-id", "id-1");
    request_.headers.add("x-forwarded-for", "10.0.0.1");
    response_.status = 200;
    response_.headers.add("content-type", "text/plain");

    info_.start_time = absl::ToChronoTime(
        absl::FromCivil(absl::CivilSecond(2024, 1, 2, 3, 4, 5), absl::UTCTimeZone()) +
        absl::Milliseconds(678));
    info_.duration = std::chrono::microseconds(30500);
    info_.request = &request_;
    info_.response = &response_;
    info_.response_code = 200;
    info_.response_code_details = "via_upstream";
    info_.bytes_received = 10;
    info_.bytes_sent = 20;
    info_.upstream_host = "10.1.1.1:80";
    info_.route_name = "r1";
    client_ = *network::Address::parse("10.0.0.1", 5555);
    info_.downstream_address = &client_;
  }

  std::string text(const std::string& format) {
    auto formatter = createTextFormatter(format);
    EXPECT_TRUE(formatter.ok()) << formatter.status();
    if (!formatter.ok()) return "";
    std::string out;
    (*formatter)->format(info_, out);
    return out;
  }

  std::string formatError(const std::string& format) {
    auto formatter = createTextFormatter(format);
    EXPECT_FALSE(formatter.ok()) << format;
    return formatter.ok() ? "" : std::string(formatter.status().message());
  }

  std::string json() {
    std::string out;
    createJsonFormatter()->format(info_, out);
    return out;
  }

  // Parses one JSON log line; fails the test if it is not a JSON object.
  google::protobuf::Struct parseJson(const std::string& line) {
    google::protobuf::Struct s;
    auto status = google::protobuf::util::JsonStringToMessage(line, &s);
    EXPECT_TRUE(status.ok()) << status.message() << "\n" << line;
    return s;
  }

  http::RequestHead request_;
  http::ResponseHead response_;
  network::Address client_;
  http::StreamInfo info_;
};

TEST_F(FormatterTest, DefaultFormatHasEnvoysFields) {
  EXPECT_EQ(text(kDefaultFormat),
            "[2024-01-02T03:04:05.678Z] \"GET /p?q=1 HTTP/1.1\" 200 via_upstream 10 20 30 "
            "\"10.0.0.1\" \"curl/8\" \"id-1\" \"example.com\" \"10.1.1.1:80\"\n");
}

TEST_F(FormatterTest, DefaultFormatWithoutResponseOrUpstream) {
  info_.response = nullptr;
  info_.response_code = 0;
  info_.response_code_details.clear();
  info_.upstream_host.clear();
  request_.headers.remove("user-agent");
  EXPECT_EQ(text(kDefaultFormat),
            "[2024-01-02T03:04:05.678Z] \"GET /p?q=1 HTTP/1.1\" 0 - 10 20 30 "
            "\"10.0.0.1\" \"-\" \"id-1\" \"example.com\" \"-\"\n");
}

TEST_F(FormatterTest, ProtocolFollowsTheRequestVersion) {
  request_.minor_version = 0;
  EXPECT_EQ(text("%PROTOCOL%"), "HTTP/1.0\n");
  info_.request = nullptr;
  EXPECT_EQ(text("%PROTOCOL%"), "HTTP/1.1\n");
}

TEST_F(FormatterTest, OtherCommands) {
  EXPECT_EQ(text("%ROUTE_NAME% %DOWNSTREAM_REMOTE_ADDRESS% %DURATION%ms"),
            "r1 10.0.0.1:5555 30ms\n");
  info_.route_name.clear();
  info_.downstream_address = nullptr;
  EXPECT_EQ(text("%ROUTE_NAME% %DOWNSTREAM_REMOTE_ADDRESS%"), "- -\n");
}

// Envoy's %DOWNSTREAM_REMOTE_ADDRESS% has the port; the address alone is the _WITHOUT_PORT form.
// Regression: the connection manager gave the log the address without its port.
TEST_F(FormatterTest, DownstreamAddressWithAndWithoutPort) {
  EXPECT_EQ(text("%DOWNSTREAM_REMOTE_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%"),
            "10.0.0.1:5555 10.0.0.1\n");
  client_ = *network::Address::parse("::1", 443);
  EXPECT_EQ(text("%DOWNSTREAM_REMOTE_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%"),
            "[::1]:443 ::1\n");
  EXPECT_EQ(parseJson(json()).fields().at("downstream_address").string_value(), "[::1]:443");
  info_.downstream_address = nullptr;
  EXPECT_EQ(text("%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%"), "-\n");
}

TEST_F(FormatterTest, RequestHeaderLookupIsCaseInsensitive) {
  EXPECT_EQ(text("%REQ(USER-AGENT)%|%REQ(x-request-id)%|%REQ(:METHOD)%|%REQ(:PATH)%"),
            "curl/8|id-1|GET|/p?q=1\n");
}

TEST_F(FormatterTest, ResponseHeaderLookup) {
  EXPECT_EQ(text("%RESP(Content-Type)% %RESP(x-missing)%"), "text/plain -\n");
  info_.response = nullptr;
  EXPECT_EQ(text("%RESP(content-type)%"), "-\n");
}

TEST_F(FormatterTest, RequestAndResponseFieldsAreEscapedInText) {
  // A quote would end the default format's quoted field early and forge the next one; bytes
  // outside printable ASCII (tabs, UTF-8, 0x9B CSI) go in as \xHH, as nginx writes them.
  request_.headers.set("user-agent", "a\" \"forged\tx\\y\xc3\xa9\x9b");
  EXPECT_EQ(text("\"%REQ(USER-AGENT)%\""), "\"a\\x22 \\x22forged\\x09x\\x5Cy\\xC3\\xA9\\x9B\"\n");
}

TEST_F(FormatterTest, RouteNamesAndDetailsAreEscapedInText) {
  // Regression (reviewer): route names are free-form (and may come from a control plane); one
  // with a quote and a newline forged a log line.
  info_.route_name = "r\" injected\n[fake]";
  EXPECT_EQ(text("\"%ROUTE_NAME%\""), "\"r\\x22 injected\\x0A[fake]\"\n");
}

TEST_F(FormatterTest, MissingRequestHeaderOrRequestIsADash) {
  EXPECT_EQ(text("%REQ(x-missing)%"), "-\n");
  info_.request = nullptr;
  EXPECT_EQ(text("%REQ(user-agent)% %REQ(:method)% %REQ(:authority)%"), "- - -\n");
}

// Every other missing value prints "-"; so does Envoy for a missing :authority.
// Regression (was a bug) in formatter.cc requestField(): ":authority" returns request->host(),
// which is
// "" for an HTTP/1.0 request without Host, so the default format logs "" instead of "-".
TEST_F(FormatterTest, MissingAuthorityIsADash) {
  request_.headers.remove("host");
  EXPECT_EQ(text("%REQ(:AUTHORITY)%"), "-\n");
}

TEST_F(FormatterTest, LiteralsAreCopiedAndANewlineEndsTheLine) {
  EXPECT_EQ(text("plain text"), "plain text\n");
  EXPECT_EQ(text("a %RESPONSE_CODE% b\n"), "a 200 b\n");
  EXPECT_EQ(text("%RESPONSE_CODE%%BYTES_SENT%"), "20020\n");
  EXPECT_EQ(text(""), "\n");
}

TEST_F(FormatterTest, UnknownCommandIsAnErrorNamingIt) {
  EXPECT_THAT(formatError("[%START_TIME%] %BOGUS%"), HasSubstr("%BOGUS%"));
  EXPECT_THAT(formatError("%REQ(user-agent%"), HasSubstr("REQ(user-agent"));
  EXPECT_THAT(formatError("%req(user-agent)%"), HasSubstr("req(user-agent)"));
}

TEST_F(FormatterTest, UnterminatedCommandIsAnError) {
  EXPECT_THAT(formatError("%RESPONSE_CODE% %BYTES_SENT"), HasSubstr("unterminated"));
}

TEST_F(FormatterTest, JsonLineHasTheFixedKeys) {
  const std::string line = json();
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  google::protobuf::Struct s = parseJson(line);
  const auto& f = s.fields();
  EXPECT_EQ(f.at("start_time").string_value(), "2024-01-02T03:04:05.678Z");
  EXPECT_EQ(f.at("method").string_value(), "GET");
  EXPECT_EQ(f.at("path").string_value(), "/p?q=1");
  EXPECT_EQ(f.at("authority").string_value(), "example.com");
  EXPECT_EQ(f.at("response_code").number_value(), 200);
  EXPECT_EQ(f.at("bytes_received").number_value(), 10);
  EXPECT_EQ(f.at("bytes_sent").number_value(), 20);
  EXPECT_EQ(f.at("duration_ms").number_value(), 30);
  EXPECT_EQ(f.at("response_code_details").string_value(), "via_upstream");
  EXPECT_EQ(f.at("upstream_host").string_value(), "10.1.1.1:80");
  EXPECT_EQ(f.at("route_name").string_value(), "r1");
  EXPECT_EQ(f.at("downstream_address").string_value(), "10.0.0.1:5555");
  EXPECT_EQ(f.at("request_id").string_value(), "id-1");
  EXPECT_EQ(f.at("user_agent").string_value(), "curl/8");
}

TEST_F(FormatterTest, JsonEscapesQuotesBackslashesAndControlCharacters) {
  const std::string nasty =
      "a\"b\\c\td\x01"
      "e\nf\x1f";
  request_.headers.set("user-agent", nasty);
  request_.path = "/\"quoted\"\\";
  info_.response_code_details = "line1\r\nline2";
  const std::string line = json();
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "a raw newline splits the log line";
  google::protobuf::Struct s = parseJson(line);
  EXPECT_EQ(s.fields().at("user_agent").string_value(), nasty);
  EXPECT_EQ(s.fields().at("path").string_value(), "/\"quoted\"\\");
  EXPECT_EQ(s.fields().at("response_code_details").string_value(), "line1\r\nline2");
}

// A missing value is null in JSON (as in Envoy's JSON lines), whatever its kind: before, a
// missing header was "-" (indistinguishable from a header whose value is "-") and a missing
// upstream host "".
TEST_F(FormatterTest, JsonMissingValuesAreNull) {
  info_.request = nullptr;
  info_.upstream_host.clear();
  info_.route_name.clear();
  info_.response_code_details.clear();
  info_.downstream_address = nullptr;
  google::protobuf::Struct s = parseJson(json());
  for (const char* key :
       {"method", "path", "authority", "request_id", "user_agent", "upstream_host", "route_name",
        "response_code_details", "downstream_address"}) {
    ASSERT_TRUE(s.fields().contains(key)) << key;
    EXPECT_EQ(s.fields().at(key).kind_case(), google::protobuf::Value::kNullValue) << key;
  }
  info_.request = &request_;
  request_.headers.remove("user-agent");
  request_.headers.set("x-request-id", "-");
  s = parseJson(json());
  EXPECT_EQ(s.fields().at("user_agent").kind_case(), google::protobuf::Value::kNullValue);
  EXPECT_EQ(s.fields().at("request_id").string_value(), "-");
  EXPECT_EQ(s.fields().at("method").string_value(), "GET");
}

// Header values may carry obs-text (bytes 0x80-0xff), which the codec accepts. JSON text must be
// UTF-8 (RFC 8259 8.1), or log pipelines reject the line.
// Regression (was a bug) in formatter.cc appendJsonString(): bytes >= 0x80 are copied raw, so a
// client sending "User-Agent: \xff" produces an access log line that is not valid UTF-8 / JSON.
TEST_F(FormatterTest, JsonLineIsValidUtf8ForObsTextHeaderValues) {
  request_.headers.set("user-agent", "caf\xe9 \xff");
  const std::string line = json();
  EXPECT_TRUE(isValidUtf8(line)) << line;
}

TEST_F(FormatterTest, JsonKeepsValidUtf8AsIs) {
  request_.headers.set("user-agent", "caf\xc3\xa9 \xe2\x82\xac");
  const std::string line = json();
  EXPECT_TRUE(isValidUtf8(line));
  EXPECT_EQ(parseJson(line).fields().at("user_agent").string_value(), "caf\xc3\xa9 \xe2\x82\xac");
}

}  // namespace
}  // namespace portico::access_log
