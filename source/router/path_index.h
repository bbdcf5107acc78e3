#pragma once

// Finds the first route (in config order) that accepts a request without testing every route.
//
// Each route is filed under a key that every path it matches must start with: its prefix, its
// exact path, or the literal prefix of its regex ("" for routes that can match anything). Keys
// live in a radix tree; one walk along the request path collects the sorted route lists of all
// keys that are prefixes of the path (plus exact entries equal to the whole path). Those few
// lists are merged by route number and the full route test runs in that order, so the first
// route that accepts is exactly the one a linear scan would find. Case-insensitive prefix/exact
// keys live in a second tree walked with the lower-cased path.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/functional/function_ref.h"
#include "absl/strings/string_view.h"

namespace portico::router {

class PathIndex {
 public:
  enum class KeyKind { kPrefix, kExact };

  // Routes must be added in ascending `route` order.
  void add(absl::string_view key, KeyKind kind, bool folded, uint32_t route);

  // The smallest route number for which `accept` returns true among the candidates for `path`,
  // or -1. Does not allocate unless more than 16 keys are prefixes of `path`.
  int64_t findFirst(absl::string_view path, absl::FunctionRef<bool(uint32_t)> accept) const;

  size_t nodeCountForTest() const { return exact_case_.nodeCount() + folded_.nodeCount(); }

 private:
  // A run of candidate route numbers, ascending.
  struct Cursor {
    const uint32_t* next;
    const uint32_t* end;
  };
  using Cursors = absl::InlinedVector<Cursor, 16>;

  class RadixTree {
   public:
    void add(absl::string_view key, KeyKind kind, uint32_t route);
    // Appends the route lists of every key that is a prefix of (or, for exact keys, equal to)
    // `path`.
    void collect(absl::string_view path, Cursors& out) const;
    size_t nodeCount() const { return nodes_.size(); }

   private:
    struct Node {
      std::string label;         // edge label from the parent; empty for the root
      std::string child_firsts;  // first byte of each child's label, parallel to `children`
      std::vector<uint32_t> children;
      std::vector<uint32_t> prefix_routes;
      std::vector<uint32_t> exact_routes;
    };
    int64_t findChild(const Node& node, char c) const;
    uint32_t insert(absl::string_view key);

    std::vector<Node> nodes_ = std::vector<Node>(1);
  };

  RadixTree exact_case_;
  RadixTree folded_;  // lower-cased keys of case-insensitive routes
  bool has_folded_ = false;
};

}  // namespace portico::router
