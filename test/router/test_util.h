#pragma once

// Helpers for router tests: configs are written as text protos, which read like the YAML users
// write and keep each test's config next to its assertions.

#include <initializer_list>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "portico/config/v1/route.pb.h"
#include "source/common/http/header_map.h"
#include "source/router/route_table.h"

namespace portico::router::test {

template <class Proto>
Proto parseProto(absl::string_view text) {
  Proto proto;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(std::string(text), &proto)) << text;
  return proto;
}

inline RouteTableSharedPtr makeTable(absl::string_view text) {
  auto table = RouteTable::create(parseProto<config::v1::RouteConfiguration>(text));
  EXPECT_TRUE(table.ok()) << table.status();
  return table.ok() ? *table : nullptr;
}

// A table with one catch-all virtual host holding `routes` (text of repeated `routes { }`).
inline RouteTableSharedPtr makeRoutes(absl::string_view routes) {
  return makeTable(std::string("virtual_hosts { name: \"vh\" domains: \"*\" ") +
                   std::string(routes) + " }");
}

// The error message of a config that must be refused; checks it is InvalidArgument.
inline std::string createError(absl::string_view text, absl::string_view field_prefix = "") {
  auto table = RouteTable::create(parseProto<config::v1::RouteConfiguration>(text), field_prefix);
  EXPECT_FALSE(table.ok()) << "config was accepted: " << text;
  if (table.ok()) return "";
  EXPECT_EQ(table.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(table.status().message());
}

inline http::HeaderMap makeHeaders(
    std::initializer_list<std::pair<absl::string_view, absl::string_view>> fields) {
  http::HeaderMap headers;
  for (const auto& [name, value] : fields) headers.add(name, value);
  return headers;
}

}  // namespace portico::router::test
