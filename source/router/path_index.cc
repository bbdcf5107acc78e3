#include "source/router/path_index.h"

#include <cstring>

#include "source/router/lower_case.h"

namespace portico::router {

void PathIndex::add(absl::string_view key, KeyKind kind, bool folded, uint32_t route) {
  if (folded) has_folded_ = true;
  (folded ? folded_ : exact_case_).add(key, kind, route);
}

int64_t PathIndex::findFirst(absl::string_view path,
                             absl::FunctionRef<bool(uint32_t)> accept) const {
  Cursors cursors;
  exact_case_.collect(path, cursors);
  if (has_folded_) {
    const LowerCased lower(path);
    folded_.collect(lower.view(), cursors);  // cursors point into the tree, not into `lower`
  }
  // K-way merge by route number; k is small (one list per matching key length).
  while (!cursors.empty()) {
    size_t best = 0;
    for (size_t i = 1; i < cursors.size(); ++i) {
      if (*cursors[i].next < *cursors[best].next) best = i;
    }
    const uint32_t route = *cursors[best].next;
    if (accept(route)) return route;
    if (++cursors[best].next == cursors[best].end) {
      cursors[best] = cursors.back();
      cursors.pop_back();
    }
  }
  return -1;
}

void PathIndex::RadixTree::add(absl::string_view key, KeyKind kind, uint32_t route) {
  Node& node = nodes_[insert(key)];
  (kind == KeyKind::kPrefix ? node.prefix_routes : node.exact_routes).push_back(route);
}

int64_t PathIndex::RadixTree::findChild(const Node& node, char c) const {
  const void* hit = std::memchr(node.child_firsts.data(), c, node.child_firsts.size());
  if (hit == nullptr) return -1;
  return node.children[static_cast<const char*>(hit) - node.child_firsts.data()];
}

uint32_t PathIndex::RadixTree::insert(absl::string_view key) {
  uint32_t n = 0;
  while (!key.empty()) {
    const int64_t child = findChild(nodes_[n], key[0]);
    if (child < 0) {
      // New leaf for the rest of the key. Indices, not references: push_back may reallocate.
      const uint32_t leaf = nodes_.size();
      nodes_.push_back(Node{std::string(key), "", {}, {}, {}});
      nodes_[n].child_firsts.push_back(key[0]);
      nodes_[n].children.push_back(leaf);
      return leaf;
    }
    const std::string& label = nodes_[child].label;
    size_t common = 0;
    while (common < label.size() && common < key.size() && label[common] == key[common]) ++common;
    if (common < label.size()) {
      // Split the edge: n -> mid (label[0, common)) -> child (label[common, end)).
      const uint32_t mid = nodes_.size();
      Node mid_node{label.substr(0, common),
                    std::string(1, label[common]),
                    {static_cast<uint32_t>(child)},
                    {},
                    {}};
      nodes_[child].label.erase(0, common);
      nodes_.push_back(std::move(mid_node));
      Node& parent = nodes_[n];
      parent.children[parent.child_firsts.find(key[0])] = mid;
      n = mid;
    } else {
      n = child;
    }
    key.remove_prefix(common);
  }
  return n;
}

void PathIndex::RadixTree::collect(absl::string_view path, Cursors& out) const {
  auto push = [&out](const std::vector<uint32_t>& routes) {
    if (!routes.empty()) out.push_back(Cursor{routes.data(), routes.data() + routes.size()});
  };
  const Node* node = &nodes_[0];
  while (true) {
    push(node->prefix_routes);
    if (path.empty()) {
      push(node->exact_routes);
      return;
    }
    const int64_t child = findChild(*node, path[0]);
    if (child < 0) return;
    const Node& next = nodes_[child];
    if (path.size() < next.label.size() ||
        std::memcmp(path.data(), next.label.data(), next.label.size()) != 0) {
      return;
    }
    path.remove_prefix(next.label.size());
    node = &next;
  }
}

}  // namespace portico::router
