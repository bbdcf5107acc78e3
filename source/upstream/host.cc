#include "source/upstream/host.h"

#include "source/upstream/conn_pool.h"

namespace portico::upstream {

HostState::HostState() = default;
HostState::~HostState() = default;
HostState::HostState(HostState&&) noexcept = default;
HostState& HostState::operator=(HostState&&) noexcept = default;

}  // namespace portico::upstream
