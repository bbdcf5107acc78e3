#pragma once

// FleetRegistry: who is connected and what each proxy runs. Per node and type: the version it
// ACKed, the last NACK error and its time, counters. Rendered as JSON (GET /v1/fleet) and as
// Prometheus text (GET /metrics).

#include <array>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "source/control_plane/server/stream_callbacks.h"

namespace portico::control_plane {

struct TypeStatus {
  std::string acked_version;
  std::chrono::system_clock::time_point acked_at;
  std::string sent_version;
  std::string sent_nonce;
  bool awaiting_reply = false;  // the last response is not ACKed or NACKed yet
  bool refused = false;         // the last reply was a NACK (the node holds an older version)
  std::string last_nack_error;
  std::chrono::system_clock::time_point last_nack_at;
  uint64_t acks = 0, nacks = 0, responses = 0;
};

struct NodeStatus {
  uint64_t stream_id = 0;
  std::shared_ptr<const config::v1::Node> node;  // shared with the stream, never null
  bool delta = false;
  std::chrono::system_clock::time_point connected_at;
  std::array<TypeStatus, kKindCount> types;
};

class FleetRegistry : public StreamCallbacks {
 public:
  // A copy of every connected node, ordered by node id.
  std::vector<NodeStatus> nodes() const;
  size_t connectedCount() const;
  uint64_t responseBytes(bool delta) const { return bytes_[delta ? 1 : 0].load(); }

  // {"nodes": [...], "connected": N}; `snapshot_version` is the version being served.
  std::string toJson(const std::string& snapshot_version) const;
  // Prometheus text exposition of the fleet (portico_control_*).
  std::string toPrometheus() const;

  // StreamCallbacks
  void onStreamOpen(uint64_t stream_id, std::shared_ptr<const config::v1::Node> node,
                    bool delta) override;
  void onStreamClosed(uint64_t stream_id) override;
  void onStreamRefused() override { streams_refused_total_++; }
  void onResponse(uint64_t stream_id, Kind kind, const std::string& version,
                  const std::string& nonce, size_t bytes) override;
  void onAck(uint64_t stream_id, Kind kind, const std::string& version) override;
  void onNack(uint64_t stream_id, Kind kind, const std::string& version,
              const std::string& error) override;

 private:
  mutable std::mutex mutex_;
  std::map<uint64_t, NodeStatus> streams_;
  std::array<std::atomic<uint64_t>, 2> bytes_{};
  std::array<std::array<std::atomic<uint64_t>, kKindCount>, 3> totals_{};  // responses/acks/nacks
  std::atomic<uint64_t> streams_total_{0};
  std::atomic<uint64_t> streams_refused_total_{0};
};

}  // namespace portico::control_plane
