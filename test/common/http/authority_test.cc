#include "source/common/http/authority.h"

#include <string>

#include "gtest/gtest.h"

namespace portico::http {
namespace {

TEST(AuthorityTest, HostsAndPorts) {
  for (const char* s :
       {"example.com", "EXAMPLE.com:443", "a", "127.0.0.1", "127.0.0.1:8080", "a-b_c~d.e",
        "!$&'()*+,;=", "a:", "a:0", "a:65535", "[::1]", "[::1]:80", "[2001:db8::1]",
        "[::ffff:127.0.0.1]:8080", "[v1.fe80::a+en1]", "[V7.x:y]"}) {
    EXPECT_TRUE(isValidAuthority(s)) << s;
  }
}

TEST(AuthorityTest, RefusesWhatCouldHideOrSplitAHost) {
  for (const char* s : {"",          ":80",          "a b",       "a\tb",
                        "a/b",       "a?b",          "a#b",       "u@a",
                        "u:p@a",     "a:80:90",      "a:8o",      "a:123456",
                        "a:65536",   "a:99999",      "%41",       "%61dmin.example",
                        "%4",        "%zz",          "a%",        "[::1",
                        "::1",       "[]",           "[::1]x",    "[::1]:8o",
                        "[a]",       "[g::1]",       "[:]",       "[1:2:3:4:5:6:7:8:9]",
                        "[1::2::3]", "[::1%25eth0]", "[12345::]", "[v1]",
                        "[v.x]",     "[vz.x]",       "[v1.]",     "\"a\"",
                        "a\\b",      "a<b",          "a\x7f",     "a\x80"}) {
    EXPECT_FALSE(isValidAuthority(s)) << s;
  }
}

// Every byte value, alone and inside a reg-name: only the RFC 3986 bytes pass.
TEST(AuthorityTest, EveryByteValue) {
  const std::string allowed =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=";
  for (int c = 0; c < 256; ++c) {
    const std::string host = std::string("a") + static_cast<char>(c) + "b";
    const bool expected = allowed.find(static_cast<char>(c)) != std::string::npos;
    if (c == ':') continue;  // a port separator; "a:b" is a bad port, checked above
    EXPECT_EQ(isValidAuthority(host), expected) << "byte " << c;
  }
}

}  // namespace
}  // namespace portico::http
