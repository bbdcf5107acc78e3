#pragma once

// Hosts of a cluster. Host is immutable config shared by all workers; HostState is the
// per-worker mutable part (active requests for least-request, connection pool), owned by one
// worker and touched only on its thread.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "source/common/network/address.h"

namespace portico::upstream {

struct Host {
  network::Address address;
  std::string address_string;  // "127.0.0.1:8080"
  uint32_t weight = 1;
  bool healthy = true;
};
using HostConstSharedPtr = std::shared_ptr<const Host>;

class ConnPool;

// Connections to one host from every version of its cluster on this worker, for
// max_connections_per_host: a new version shares its predecessor's count, so the busy
// connections of a version still draining count against the cap too. Pools whose requests
// wait at the cap are listed, to be woken when the count drops, whichever version's
// connection it was.
struct HostConnections {
  uint32_t count = 0;
  std::vector<ConnPool*> waiting;  // each at most once; a pool leaves on destruction
};

struct HostState {
  HostConstSharedPtr host;
  uint64_t active_requests = 0;
  uint64_t total_requests = 0;
  std::shared_ptr<HostConnections> connections = std::make_shared<HostConnections>();
  std::unique_ptr<ConnPool> pool;

  HostState();
  ~HostState();
  HostState(HostState&&) noexcept;
  HostState& operator=(HostState&&) noexcept;
};

}  // namespace portico::upstream
