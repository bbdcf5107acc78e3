#include "source/common/network/address.h"

#include <string>

#include "gtest/gtest.h"

namespace portico::network {
namespace {

TEST(AddressTest, ParsesIpv4) {
  auto a = Address::parse("127.0.0.1", 8080);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->family(), AF_INET);
  EXPECT_EQ(a->ip(), "127.0.0.1");
  EXPECT_EQ(a->port(), 8080);
  EXPECT_EQ(a->asString(), "127.0.0.1:8080");
  EXPECT_EQ(a->sockLen(), sizeof(sockaddr_in));
}

TEST(AddressTest, ParsesIpv6WithBracketsInItsString) {
  auto a = Address::parse("::1", 443);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->family(), AF_INET6);
  EXPECT_EQ(a->ip(), "::1");
  EXPECT_EQ(a->asString(), "[::1]:443");
  EXPECT_EQ(a->sockLen(), sizeof(sockaddr_in6));
}

TEST(AddressTest, PortBounds) {
  EXPECT_TRUE(Address::parse("127.0.0.1", 0).ok());
  EXPECT_TRUE(Address::parse("127.0.0.1", 65535).ok());
  auto a = Address::parse("127.0.0.1", 65536);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().message(), "port 65536 out of range");
}

TEST(AddressTest, NamesAndMalformedAddressesAreRefused) {
  for (const char* bad :
       {"localhost", "example.com", "", "1.2.3", "1.2.3.256", "[::1]", " 1.2.3.4", "1.2.3.4:80"}) {
    auto a = Address::parse(bad, 80);
    EXPECT_FALSE(a.ok()) << bad;
  }
  EXPECT_EQ(Address::parse("localhost", 80).status().message(),
            "'localhost' is not a numeric IP address");
}

TEST(AddressTest, FromSockaddrRoundTrips) {
  auto a = Address::parse("10.1.2.3", 9);
  ASSERT_TRUE(a.ok());
  Address b = Address::fromSockaddr(a->sockAddr(), a->sockLen());
  EXPECT_EQ(b.asString(), "10.1.2.3:9");
  EXPECT_EQ(b.sockLen(), a->sockLen());
}

TEST(AddressTest, DefaultAddressIsEmpty) {
  Address a;
  EXPECT_EQ(a.port(), 0);
  EXPECT_EQ(a.ip(), "");
  EXPECT_EQ(a.sockLen(), 0u);
}

}  // namespace
}  // namespace portico::network
