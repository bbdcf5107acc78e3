#pragma once

// Hosts of a cluster. Host is immutable config shared by all workers; HostState is the
// per-worker mutable part (active requests for least-request, connection pool), owned by one
// worker and touched only on its thread.

#include <cstdint>
#include <memory>
#include <string>

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

struct HostState {
  HostConstSharedPtr host;
  uint64_t active_requests = 0;
  uint64_t total_requests = 0;
  // Connections to this host from every version of its cluster on this worker, for
  // max_connections_per_host: a new version shares its predecessor's count, so the busy
  // connections of a version still draining count against the cap too.
  std::shared_ptr<uint32_t> connections = std::make_shared<uint32_t>(0);
  std::unique_ptr<ConnPool> pool;

  HostState();
  ~HostState();
  HostState(HostState&&) noexcept;
  HostState& operator=(HostState&&) noexcept;
};

}  // namespace portico::upstream
