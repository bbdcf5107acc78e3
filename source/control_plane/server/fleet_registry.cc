#include "source/control_plane/server/fleet_registry.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "source/control_plane/store/json.h"

namespace portico::control_plane {
namespace {

std::string rfc3339(std::chrono::system_clock::time_point t) {
  if (t.time_since_epoch().count() == 0) return "";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromChrono(t), absl::UTCTimeZone());
}

double unixSeconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

// Prometheus label value escaping.
std::string label(absl::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

std::vector<NodeStatus> FleetRegistry::nodes() const {
  std::vector<NodeStatus> out;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [id, s] : streams_) out.push_back(s);
  }
  std::stable_sort(out.begin(), out.end(), [](const NodeStatus& a, const NodeStatus& b) {
    return a.node->id() < b.node->id();
  });
  return out;
}

size_t FleetRegistry::connectedCount() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return streams_.size();
}

void FleetRegistry::onStreamOpen(uint64_t stream_id, std::shared_ptr<const config::v1::Node> node,
                                 bool delta) {
  streams_total_++;
  std::lock_guard<std::mutex> lock(mutex_);
  NodeStatus& s = streams_[stream_id];
  s.stream_id = stream_id;
  s.node = std::move(node);
  s.delta = delta;
  s.connected_at = std::chrono::system_clock::now();
}

void FleetRegistry::onStreamClosed(uint64_t stream_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  streams_.erase(stream_id);
}

void FleetRegistry::onResponse(uint64_t stream_id, Kind kind, const std::string& version,
                               const std::string& nonce, size_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = streams_.find(stream_id);
  if (it == streams_.end()) return;
  TypeStatus& t = it->second.types[static_cast<int>(kind)];
  t.sent_version = version;
  t.sent_nonce = nonce;
  t.awaiting_reply = true;
  t.responses++;
  bytes_[it->second.delta ? 1 : 0] += bytes;
  totals_[0][static_cast<int>(kind)]++;
}

void FleetRegistry::onAck(uint64_t stream_id, Kind kind, const std::string& version) {
  totals_[1][static_cast<int>(kind)]++;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = streams_.find(stream_id);
  if (it == streams_.end()) return;
  TypeStatus& t = it->second.types[static_cast<int>(kind)];
  t.acked_version = version;
  t.acked_at = std::chrono::system_clock::now();
  t.awaiting_reply = false;
  t.refused = false;
  t.acks++;
}

void FleetRegistry::onNack(uint64_t stream_id, Kind kind, const std::string& version,
                           const std::string& error) {
  totals_[2][static_cast<int>(kind)]++;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = streams_.find(stream_id);
  if (it == streams_.end()) return;
  TypeStatus& t = it->second.types[static_cast<int>(kind)];
  // Kept per stream and served by /v1/fleet: at most 4 KiB of what the proxy sent.
  constexpr size_t kMaxErrorBytes = 4096;
  t.last_nack_error = error.substr(0, kMaxErrorBytes);
  t.last_nack_at = std::chrono::system_clock::now();
  t.awaiting_reply = false;
  t.refused = true;
  t.nacks++;
  if (!version.empty()) t.acked_version = version;
}

std::string FleetRegistry::toJson(const std::string& snapshot_version) const {
  json::ArrayWriter nodes_json;
  std::vector<NodeStatus> all = nodes();
  for (const NodeStatus& s : all) {
    json::ObjectWriter n;
    n.string("id", s.node->id()).string("cluster", s.node->cluster());
    json::ObjectWriter meta;
    for (const auto& [k, v] : s.node->metadata()) meta.string(k, v);
    n.raw("metadata", meta.finish());
    n.string("protocol", s.delta ? "delta" : "sotw");
    n.string("connected_at", rfc3339(s.connected_at));
    json::ObjectWriter types;
    for (Kind k : kAllKinds) {
      const TypeStatus& t = s.types[static_cast<int>(k)];
      if (t.responses == 0 && t.acks == 0 && t.nacks == 0) continue;
      json::ObjectWriter tj;
      tj.string("acked_version", t.acked_version).string("acked_at", rfc3339(t.acked_at));
      tj.string("sent_version", t.sent_version).string("sent_nonce", t.sent_nonce);
      // A response on the wire; "refused": the last one was NACKed (see last_nack_error).
      tj.boolean("pending", t.awaiting_reply).boolean("refused", t.refused);
      tj.integer("acks", t.acks).integer("nacks", t.nacks);
      if (!t.last_nack_error.empty()) {
        tj.string("last_nack_error", t.last_nack_error);
        tj.string("last_nack_at", rfc3339(t.last_nack_at));
      }
      types.raw(kindName(k), tj.finish());
    }
    n.raw("types", types.finish());
    nodes_json.raw(n.finish());
  }
  json::ObjectWriter out;
  out.string("snapshot_version", snapshot_version);
  out.integer("connected", all.size());
  out.raw("nodes", nodes_json.finish());
  return out.finish() + "\n";
}

std::string FleetRegistry::toPrometheus() const {
  std::vector<NodeStatus> all = nodes();
  std::string out;
  absl::StrAppend(
      &out, "# TYPE portico_control_connected_nodes gauge\n", "portico_control_connected_nodes ",
      all.size(), "\n", "# TYPE portico_control_streams_total counter\n",
      "portico_control_streams_total ", streams_total_.load(), "\n",
      "# TYPE portico_control_streams_refused_total counter\n",
      "portico_control_streams_refused_total ", streams_refused_total_.load(), "\n",
      "# TYPE portico_control_response_bytes_total counter\n",
      "portico_control_response_bytes_total{protocol=\"sotw\"} ", bytes_[0].load(), "\n",
      "portico_control_response_bytes_total{protocol=\"delta\"} ", bytes_[1].load(), "\n");
  const char* names[3] = {"responses", "acks", "nacks"};
  for (int i = 0; i < 3; i++) {
    absl::StrAppend(&out, "# TYPE portico_control_", names[i], "_total counter\n");
    for (Kind k : kAllKinds) {
      absl::StrAppend(&out, "portico_control_", names[i], "_total{type=\"", kindName(k), "\"} ",
                      totals_[i][static_cast<int>(k)].load(), "\n");
    }
  }
  absl::StrAppend(&out, "# TYPE portico_control_node_acked_version gauge\n");
  std::string nacks = "# TYPE portico_control_node_nacks_total counter\n";
  std::string nack_time = "# TYPE portico_control_node_last_nack_timestamp_seconds gauge\n";
  for (const NodeStatus& s : all) {
    for (Kind k : kAllKinds) {
      const TypeStatus& t = s.types[static_cast<int>(k)];
      if (t.responses == 0 && t.acks == 0 && t.nacks == 0) continue;
      // The stream id keeps two streams of one node id (replicas sharing a bootstrap, or a
      // reconnect while the old stream is still open) from giving duplicate series.
      const std::string labels =
          absl::StrCat("node=\"", label(s.node->id()), "\",cluster=\"", label(s.node->cluster()),
                       "\",type=\"", kindName(k), "\",stream=\"", s.stream_id, "\"");
      absl::StrAppend(&out, "portico_control_node_acked_version{", labels, ",version=\"",
                      label(t.acked_version), "\"} 1\n");
      absl::StrAppend(&nacks, "portico_control_node_nacks_total{", labels, "} ", t.nacks, "\n");
      if (t.nacks > 0) {
        absl::StrAppend(&nack_time, "portico_control_node_last_nack_timestamp_seconds{", labels,
                        "} ", absl::StrFormat("%.3f", unixSeconds(t.last_nack_at)), "\n");
      }
    }
  }
  return out + nacks + nack_time;
}

}  // namespace portico::control_plane
