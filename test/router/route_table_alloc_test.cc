// match() must not allocate for prefix/exact routes and hosts of ordinary length. This binary
// replaces the global operator new to count allocations around match().

#include <atomic>
#include <cstdlib>
#include <new>

#include "gtest/gtest.h"
#include "source/router/route_table.h"
#include "test/router/test_util.h"

namespace {
std::atomic<long> g_allocations{0};
}  // namespace

void* operator new(size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  std::abort();  // no exceptions in this code base
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace portico::router {
namespace {

TEST(RouteTableAllocTest, MatchDoesNotAllocate) {
  auto table = test::makeTable(R"(
    virtual_hosts { domains: "api.example.com" domains: "*.example.com"
      routes { name: "exact" match { path: "/health" } route { cluster: "c" } }
      routes { name: "ci" match { prefix: "/CI/" case_sensitive: false } route { cluster: "c" } }
      routes { name: "hdr" match { prefix: "/h" headers { name: "x-a" exact_match: "1" } }
               route { cluster: "c" } }
      routes { name: "q" match { prefix: "/q" query_parameters { name: "a" exact_match: "1" } }
               route { cluster: "c" } }
      routes { name: "prefix" match { prefix: "/" } route { cluster: "c" } } })");
  ASSERT_NE(table, nullptr);
  http::HeaderMap headers = test::makeHeaders({{"x-a", "1"}, {"user-agent", "test"}});
  struct Case {
    const char* host;
    const char* path;
    const char* route;
  };
  const Case cases[] = {{"API.example.com:443", "/health", "exact"},
                        {"www.example.com", "/ci/x", "ci"},
                        {"api.example.com", "/h?x", "hdr"},
                        {"api.example.com", "/q?b&a=1", "q"},
                        {"api.example.com", "/other/path?x=1", "prefix"}};
  for (const Case& c : cases) {
    const long before = g_allocations.load();
    const Route* route = table->match(c.host, c.path, headers);
    const long allocations = g_allocations.load() - before;
    ASSERT_NE(route, nullptr) << c.path;
    EXPECT_EQ(route->name(), c.route);
    EXPECT_EQ(allocations, 0) << c.path;
  }
}

}  // namespace
}  // namespace portico::router
