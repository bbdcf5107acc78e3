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

// One host's numbers shared by every version of its cluster on this worker: a new version
// takes its predecessor's, so what a version still draining has in flight counts too.
struct HostCounts {
  // For max_connections_per_host. Pools whose requests wait at the cap are listed, to be
  // woken when the count drops, whichever version's connection it was.
  uint32_t connections = 0;
  std::vector<ConnPool*> waiting;  // each at most once; a pool leaves on destruction
  // For least-request: requests in flight to the host through any version.
  uint64_t active_requests = 0;  // through this version (it drains until none); see counts
};

struct HostState {
  HostConstSharedPtr host;
  uint64_t active_requests = 0;
  uint64_t total_requests = 0;
  std::shared_ptr<HostCounts> counts = std::make_shared<HostCounts>();
  std::unique_ptr<ConnPool> pool;

  HostState();
  ~HostState();
  HostState(HostState&&) noexcept;
  HostState& operator=(HostState&&) noexcept;
};

}  // namespace portico::upstream
