#pragma once

// StreamState: the protocol-independent half of one discovery stream. It knows, per resource
// type, what the proxy subscribed to, what it holds (ACKed), what is on the wire (one response
// per type at a time), and decides what to push next from a NodeView. Used by both the
// state-of-the-world and the delta streams; no gRPC in here, so it is unit-tested directly.
//
// Push order is make-before-break:
//  - types go out in the order Cluster, ClusterLoadAssignment, RouteConfiguration, Listener;
//  - a RouteConfiguration (or Listener) is held back until the proxy has ACKed every cluster
//    (and route configuration) it names, when the proxy subscribes to those types;
//  - a cluster (or its endpoints, or a route configuration) that disappeared from the view
//    keeps being served while a route (or listener) the proxy holds or is being sent still
//    names it; it is withdrawn once the proxy ACKs routes that no longer do.
// A NACKed push is not repeated until the desired content changes.

#include <array>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "source/control_plane/cache/snapshot.h"

namespace portico::control_plane {

// Names one stream may subscribe to by name, per type. A proxy names at most the resources it
// uses (Portico's own client subscribes by wildcard); the bound keeps a misbehaving one from
// growing the server's memory request after request (the stream ends with RESOURCE_EXHAUSTED).
inline constexpr size_t kMaxNamesPerType = 100000;
// And their bytes: delta subscriptions add up over requests, and one name may be long.
inline constexpr size_t kMaxNameBytesPerType = 16 * 1024 * 1024;

inline constexpr Kind kPushOrder[kKindCount] = {Kind::kCluster, Kind::kClusterLoadAssignment,
                                                Kind::kRouteConfiguration, Kind::kListener};

struct Held {
  std::string version;
  CachedResourceConstSharedPtr resource;  // null when only the version is known (delta resume)
};
using HeldMap = std::map<std::string, Held>;

struct TypeState {
  bool subscribed = false;
  bool wildcard = true;
  bool sotw_legacy_wildcard = false;  // SotW: every request so far named nothing
  std::set<std::string> names;        // besides the wildcard
  size_t names_bytes = 0;             // the sum of their sizes
  bool ever_sent = false;
  HeldMap acked;
  std::string acked_version;  // SotW: version_info ACKed; delta: system_version_info ACKed
  bool in_flight = false;
  std::string nonce;
  HeldMap pending;  // what the proxy holds once it ACKs the response in flight
  std::string pending_version;
  std::string pending_signature;
  std::string nacked_signature;
  // plan() skips a type whose view version and stream state did not change since it last
  // looked (most snapshot changes touch one type).
  std::string planned_view_version;  // its view version (endpoints: and the clusters')
  uint64_t planned_stamp = 0;
};

struct Push {
  Kind kind = Kind::kCluster;
  std::string version;  // SotW: the type's version_info; delta: system_version_info
  std::string nonce;
  // SotW: every resource of the type for this proxy. Delta: the new and changed ones.
  std::vector<CachedResourceConstSharedPtr> resources;
  std::vector<std::string> removed;  // delta only
};

enum class ReplyKind { kAck, kNack, kStale };

class StreamState {
 public:
  explicit StreamState(bool delta) : delta_(delta) {}

  TypeState& type(Kind kind) { return types_[static_cast<int>(kind)]; }
  const TypeState& type(Kind kind) const { return types_[static_cast<int>(kind)]; }

  // SotW subscription: every request carries the full name list. Empty is wildcard until the
  // first request with names; "*" is wildcard.
  void setSotwNames(Kind kind, const std::vector<std::string>& names);
  // Delta subscription changes; the first request with no names is a wildcard subscription
  // ("*" also means wildcard).
  void deltaSubscribe(Kind kind, const std::vector<std::string>& subscribe,
                      const std::vector<std::string>& unsubscribe, bool first_request);
  // SotW reconnect: the proxy says it holds `version_info`; when that is what it would get now,
  // nothing is resent.
  void resumeSotw(Kind kind, const std::string& version_info, const NodeView& view);
  // Delta reconnect: initial_resource_versions.
  void resumeDelta(Kind kind, const std::map<std::string, std::string>& versions,
                   const NodeView& view);

  // What to send now, in push order; each returned push is marked in flight with a new nonce.
  std::vector<Push> plan(const NodeView& view, const std::string& system_version);

  // A request echoing `nonce` for `kind`: kAck moves the pending state to acked, kNack keeps
  // the acked state; a nonce that is not the one in flight is kStale (and ignored).
  ReplyKind onReply(Kind kind, const std::string& nonce, bool error);

 private:
  // The resources `kind` should have on the proxy now: the view's map itself when nothing is
  // filtered or retained (no copy), else `storage`.
  const CachedMap& desired(Kind kind, const NodeView& view, CachedMap& storage) const;
  bool dependenciesMet(Kind kind, const CachedMap& desired) const;
  bool subscribedTo(const TypeState& t, const std::string& name) const {
    return t.wildcard || t.names.contains(name);
  }

  bool delta_;
  uint64_t next_nonce_ = 1;
  uint64_t stamp_ = 1;  // bumped by every change of subscriptions, acked or pending state
  std::array<TypeState, kKindCount> types_;
};

}  // namespace portico::control_plane
