#include "source/common/http/http1/plain_head.h"

#include <string>

#include "gtest/gtest.h"
#include "source/common/http/http1/parser.h"

namespace portico::http::http1 {
namespace {

bool request(absl::string_view data, PlainHead* out = nullptr, HeaderMap* fields = nullptr) {
  HeaderMap headers;
  PlainHead head;
  const bool ok = parsePlainRequestHead(data, fields != nullptr ? *fields : headers, head);
  if (out != nullptr) *out = head;
  return ok;
}

bool response(absl::string_view data, PlainHead* out = nullptr) {
  HeaderMap headers;
  PlainHead head;
  const bool ok = parsePlainResponseHead(data, headers, head);
  if (out != nullptr) *out = head;
  return ok;
}

TEST(PlainHeadTest, TakesACommonRequest) {
  const std::string data =
      "GET /a/b?c=d%20e HTTP/1.1\r\nHost: example.com\r\nUser-Agent:  curl/8 \r\n"
      "Accept: */*\r\nX-Empty:\r\n\r\nNEXT";
  PlainHead head;
  HeaderMap fields;
  ASSERT_TRUE(request(data, &head, &fields));
  EXPECT_EQ(head.bytes, data.size() - 4);
  EXPECT_EQ(head.method, "GET");
  EXPECT_EQ(head.target, "/a/b?c=d%20e");
  EXPECT_EQ(head.minor_version, 1);
  EXPECT_FALSE(head.has_content_length);
  EXPECT_EQ(head.fields, 4u);
  EXPECT_EQ(*fields.get("user-agent"), "curl/8");  // optional whitespace gone both sides
  EXPECT_EQ(*fields.get("x-empty"), "");
}

TEST(PlainHeadTest, TakesAContentLengthAndAKeepAliveHttp10) {
  PlainHead head;
  ASSERT_TRUE(request("POST /up HTTP/1.0\r\nConnection: Keep-Alive\r\nContent-Length: 0012\r\n\r\n",
                      &head));
  EXPECT_EQ(head.minor_version, 0);
  EXPECT_TRUE(head.has_content_length);
  EXPECT_EQ(head.content_length, 12u);
}

TEST(PlainHeadTest, LeavesEverythingElseToLlhttp) {
  for (const char* data : {
           "GET / HTTP/1.1\r\nHost: a\r\n",                           // not whole
           "\r\nGET / HTTP/1.1\r\n\r\n",                              // leading empty line
           "GET / HTTP/1.0\r\n\r\n",                                  // closes after
           "GET / HTTP/1.1\r\nConnection: close\r\n\r\n",             // closes after
           "GET / HTTP/1.1\r\nConnection: keep-alive, te\r\n\r\n",    // a list
           "GET / HTTP/1.1\r\nProxy-Connection: keep-alive\r\n\r\n",  // read as Connection
           "GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n",
           "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
           "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
           "POST / HTTP/1.1\r\nContent-Length: 1 \r\n\r\n",
           "POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\n",
           "POST / HTTP/1.1\r\nContent-Length: 1234567890123456\r\n\r\n",
           "GET / HTTP/1.1\r\nX: a\tb\r\n\r\n",         // HTAB
           "GET / HTTP/1.1\r\nX: caf\xc3\xa9\r\n\r\n",  // obs-text
           "GET / HTTP/1.1\r\nX: a\nY: b\r\n\r\n",      // bare LF
           "GET / HTTP/1.1\r\nX: a\rY: b\r\n\r\n",      // bare CR
           "GET / HTTP/1.1\r\nX : a\r\n\r\n",           // space before the colon
           "GET / HTTP/1.1\r\n: a\r\n\r\n",             // no name
           "GET / HTTP/1.1\r\n folded\r\n\r\n",         // obs-fold
           "QUERY / HTTP/1.1\r\n\r\n",                  // a method llhttp may not know
           "get / HTTP/1.1\r\n\r\n",                    // methods are case-sensitive
           "CONNECT a:443 HTTP/1.1\r\n\r\n",
           "GET http://a/ HTTP/1.1\r\n\r\n",  // absolute-form
           "OPTIONS * HTTP/1.1\r\n\r\n",
           "GET /a\"b HTTP/1.1\r\n\r\n",
           "GET /a#b HTTP/1.1\r\n\r\n",
           "GET  / HTTP/1.1\r\n\r\n",
           "GET / HTTP/1.1 \r\n\r\n",
           "GET / HTTP/2.0\r\n\r\n",
           "GET / HTTP/1.1\n\r\n",
       }) {
    EXPECT_FALSE(request(data)) << data;
  }
}

TEST(PlainHeadTest, TakesResponsesWithAContentLengthOnly) {
  PlainHead head;
  ASSERT_TRUE(response("HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nno!", &head));
  EXPECT_EQ(head.status, 404);
  EXPECT_EQ(head.reason, "Not Found");
  EXPECT_EQ(head.content_length, 3u);
  ASSERT_TRUE(response("HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n", &head));
  EXPECT_EQ(head.reason, "");
  for (const char* data : {
           "HTTP/1.1 200 OK\r\n\r\n",  // ends at the close
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
           "HTTP/1.1 100 Continue\r\nContent-Length: 0\r\n\r\n",
           "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n",
           "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n",
           "HTTP/1.1 600 Odd\r\nContent-Length: 0\r\n\r\n",
           "HTTP/1.1 20 Short\r\nContent-Length: 0\r\n\r\n",
           "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",     // no SP after the code
           "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n",  // closes after
           "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
       }) {
    EXPECT_FALSE(response(data)) << data;
  }
}

class Callbacks : public ParserCallbacks {
 public:
  bool onHeadersComplete() override {
    heads++;
    return true;
  }
  void onBody(absl::string_view) override {}
  void onMessageComplete() override { completes++; }
  int heads = 0, completes = 0;
};

TEST(PlainHeadTest, TheParserTakesPlainHeadsAndLeavesTheRestToLlhttp) {
  Callbacks callbacks;
  HeaderMap headers;
  Http1Parser parser(HTTP_REQUEST, callbacks, headers);
  std::string data = "POST /a HTTP/1.1\r\nContent-Length: 2\r\n\r\n";
  size_t consumed = 0;
  ASSERT_EQ(parser.execute(data.data(), data.size(), &consumed), ParseResult::kPaused);
  EXPECT_TRUE(parser.plainHead());
  EXPECT_EQ(consumed, data.size());
  EXPECT_EQ(parser.methodName(), "POST");
  EXPECT_EQ(parser.url(), "/a");
  EXPECT_EQ(parser.rawBodyRemaining(), 2u);
  EXPECT_TRUE(parser.keepAlive());
  EXPECT_TRUE(parser.consumeRawBody(2));
  parser.resume();
  EXPECT_EQ(callbacks.completes, 1);

  // A chunked request goes to llhttp, and so does what follows a closing HTTP/1.0 request:
  // llhttp refuses more bytes on that connection, and the fast path must not take them.
  data = "GET / HTTP/1.0\r\n\r\nGET / HTTP/1.1\r\n\r\n";
  ASSERT_EQ(parser.execute(data.data(), data.size(), &consumed), ParseResult::kPaused);
  EXPECT_FALSE(parser.plainHead());
  EXPECT_FALSE(parser.keepAlive());
  parser.resume();
  const std::string rest = data.substr(consumed);
  EXPECT_EQ(parser.execute(rest.data(), rest.size(), &consumed), ParseResult::kError);
}

}  // namespace
}  // namespace portico::http::http1
