// Route matching against a 10k-route configuration. Run:
//   bazel run -c opt //tools/bench:router_bench
//
// The table has one virtual host with 10,000 routes in a repeating mix (route i):
//   i % 4 == 0  path: "/svc<i>/exact/items"                      (exact)
//   i % 4 == 1  prefix: "/svc<i>/prefix/"                        (prefix)
//   i % 4 == 2  safe_regex: "/svc<i>/users/[0-9]+"               (regex)
//   i % 4 == 3  prefix: "/svc<i>/hdr/" + header x-tenant == t<i>  (header condition)
// plus wildcard virtual hosts, so host selection is part of every match. Each benchmark reports
// ns per match() for a request that hits the first, a middle or the last route, or misses.
// The *_Linear variants test every route in order (no index) as the baseline.

#include <string>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "portico/config/v1/route.pb.h"
#include "source/common/http/header_map.h"
#include "source/router/route_table.h"

namespace portico::router {
namespace {

constexpr int kRoutes = 10000;

config::v1::RouteConfiguration mixedConfig() {
  config::v1::RouteConfiguration config;
  config.set_name("bench");
  auto* other = config.add_virtual_hosts();
  other->set_name("other");
  other->add_domains("*.internal");
  other->add_domains("static.*");
  auto* r = other->add_routes();
  r->mutable_match()->set_prefix("/");
  r->mutable_route()->set_cluster("other");

  auto* vh = config.add_virtual_hosts();
  vh->set_name("api");
  vh->add_domains("api.example.com");
  vh->add_domains("*.example.com");
  for (int i = 0; i < kRoutes; ++i) {
    auto* route = vh->add_routes();
    route->set_name(absl::StrCat("r", i));
    route->mutable_route()->set_cluster(absl::StrCat("cluster", i % 50));
    auto* match = route->mutable_match();
    switch (i % 4) {
      case 0:
        match->set_path(absl::StrCat("/svc", i, "/exact/items"));
        break;
      case 1:
        match->set_prefix(absl::StrCat("/svc", i, "/prefix/"));
        break;
      case 2:
        match->set_safe_regex(absl::StrCat("/svc", i, "/users/[0-9]+"));
        break;
      case 3: {
        match->set_prefix(absl::StrCat("/svc", i, "/hdr/"));
        auto* header = match->add_headers();
        header->set_name("x-tenant");
        header->set_exact_match(absl::StrCat("t", i));
        break;
      }
    }
  }
  return config;
}

// 10k plain prefix routes: the worst case for a linear scan, every route is tested.
config::v1::RouteConfiguration prefixConfig() {
  config::v1::RouteConfiguration config;
  auto* vh = config.add_virtual_hosts();
  vh->add_domains("*");
  for (int i = 0; i < kRoutes; ++i) {
    auto* route = vh->add_routes();
    route->set_name(absl::StrCat("p", i));
    route->mutable_match()->set_prefix(absl::StrCat("/api/v1/service-", i, "/"));
    route->mutable_route()->set_cluster("c");
  }
  return config;
}

const RouteTable& table(bool prefix_only) {
  // Kept alive for the whole run; create() cannot fail on these generated configs.
  static const RouteTableSharedPtr mixed = *RouteTable::create(mixedConfig());
  static const RouteTableSharedPtr prefix = *RouteTable::create(prefixConfig());
  return prefix_only ? *prefix : *mixed;
}

// A browser-like request head: the matcher has to skip past several headers.
http::HeaderMap requestHeaders(int tenant) {
  http::HeaderMap headers;
  headers.add("host", "api.example.com");
  headers.add("user-agent", "Mozilla/5.0 (X11; Linux x86_64) bench");
  headers.add("accept", "application/json");
  headers.add("accept-encoding", "gzip, br");
  headers.add("x-request-id", "6f1c2d4e-1b2a-4c3d-9e8f-0a1b2c3d4e5f");
  headers.add("x-tenant", absl::StrCat("t", tenant));
  return headers;
}

struct Request {
  std::string name;
  std::string path;
  int tenant;
};

// Paths hitting route `i` of the mixed table.
std::string pathFor(int i) {
  switch (i % 4) {
    case 0:
      return absl::StrCat("/svc", i, "/exact/items?limit=10");
    case 1:
      return absl::StrCat("/svc", i, "/prefix/a/b?x=1");
    case 2:
      return absl::StrCat("/svc", i, "/users/12345");
    default:
      return absl::StrCat("/svc", i, "/hdr/items");
  }
}

void runMatch(benchmark::State& state, bool prefix_only, bool linear, const std::string& path,
              int tenant, const char* expect) {
  const RouteTable& t = table(prefix_only);
  const http::HeaderMap headers = requestHeaders(tenant);
  const Route* route = linear ? t.matchLinearForTest("API.example.com", path, headers)
                              : t.match("API.example.com", path, headers);
  if ((route == nullptr ? std::string("none") : route->name()) != expect) {
    state.SkipWithError(absl::StrCat("unexpected route for ", path).c_str());
    return;
  }
  for (auto _ : state) {
    route = linear ? t.matchLinearForTest("API.example.com", path, headers)
                   : t.match("API.example.com", path, headers);
    benchmark::DoNotOptimize(route);
  }
}

void registerAll() {
  struct Case {
    const char* name;
    int route;  // -1: miss
  };
  const Case mixed_cases[] = {
      {"First", 0},           {"MiddleExact", 5000}, {"MiddlePrefix", 5001}, {"MiddleRegex", 5002},
      {"MiddleHeader", 5003}, {"Last", kRoutes - 1}, {"Miss", -1},
  };
  for (bool linear : {false, true}) {
    for (const Case& c : mixed_cases) {
      const std::string path = c.route < 0 ? "/svc77777/nothing/here" : pathFor(c.route);
      const std::string expect = c.route < 0 ? "none" : absl::StrCat("r", c.route);
      const int tenant = c.route;
      benchmark::RegisterBenchmark(
          absl::StrCat("Mixed10k/", c.name, linear ? "_Linear" : "").c_str(),
          [=](benchmark::State& s) { runMatch(s, false, linear, path, tenant, expect.c_str()); });
    }
  }
  const Case prefix_cases[] = {{"First", 0}, {"Middle", 5000}, {"Last", kRoutes - 1}, {"Miss", -1}};
  for (bool linear : {false, true}) {
    for (const Case& c : prefix_cases) {
      const std::string path =
          c.route < 0 ? "/api/v1/unknown/x" : absl::StrCat("/api/v1/service-", c.route, "/items/1");
      const std::string expect = c.route < 0 ? "none" : absl::StrCat("p", c.route);
      benchmark::RegisterBenchmark(
          absl::StrCat("Prefix10k/", c.name, linear ? "_Linear" : "").c_str(),
          [=](benchmark::State& s) { runMatch(s, true, linear, path, 0, expect.c_str()); });
    }
  }
}

// Building (validating, compiling 2,500 regexes, indexing) the mixed 10k-route table.
void BM_CreateMixed10k(benchmark::State& state) {
  const config::v1::RouteConfiguration config = mixedConfig();
  for (auto _ : state) {
    auto t = RouteTable::create(config);
    benchmark::DoNotOptimize(t);
  }
}
BENCHMARK(BM_CreateMixed10k)->Unit(benchmark::kMillisecond);

const int kRegistered = (registerAll(), 0);

}  // namespace
}  // namespace portico::router
