#pragma once

// Hooks into the discovery streams (fleet view, metrics, logs). Called on gRPC threads, possibly
// concurrently for different streams; implementations must be thread-safe and quick.

#include <cstdint>
#include <memory>
#include <string>

#include "portico/config/v1/core.pb.h"
#include "source/control_plane/store/resource.h"

namespace portico::control_plane {

class StreamCallbacks {
 public:
  virtual ~StreamCallbacks() = default;
  // The first request of a stream arrived, naming its node.
  virtual void onStreamOpen(uint64_t stream_id, std::shared_ptr<const config::v1::Node> node,
                            bool delta) = 0;
  virtual void onStreamClosed(uint64_t stream_id) = 0;
  // A stream was refused: the server was at its limit of open streams.
  virtual void onStreamRefused() = 0;
  // `bytes`: the serialized size of the response.
  virtual void onResponse(uint64_t stream_id, Kind kind, const std::string& version,
                          const std::string& nonce, size_t bytes) = 0;
  virtual void onAck(uint64_t stream_id, Kind kind, const std::string& version) = 0;
  // The proxy kept `version` and rejected the push with `error`.
  virtual void onNack(uint64_t stream_id, Kind kind, const std::string& version,
                      const std::string& error) = 0;
};

}  // namespace portico::control_plane
