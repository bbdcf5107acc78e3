#pragma once

// AdsClient: the proxy's side of the aggregated discovery stream (state of the world). It
// subscribes to every resource type in make-before-break order, hands each response to the
// ConfigApplier, and ACKs (echoing version and nonce) or NACKs (echoing the nonce, keeping the
// previous version, with the applier's error). It reconnects with jittered exponential
// backoff and resubscribes with the versions it holds; while the control plane is away the
// last good config keeps serving.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "google/protobuf/any.pb.h"
#include "portico/config/v1/core.pb.h"
#include "portico/service/discovery/v1/discovery.pb.h"
#include "source/common/event/dispatcher.h"
#include "source/common/network/address.h"
#include "source/xds/grpc_stream.h"
#include "source/xds/resource_types.h"

namespace portico::xds {

class ConfigApplier {
 public:
  virtual ~ConfigApplier() = default;
  // The complete current set of `type_url` resources. Validate and apply, or return the error
  // (with the resource name and field path) to NACK; the previous config must stay.
  virtual absl::Status applyResources(const std::string& type_url,
                                      const std::vector<google::protobuf::Any>& resources,
                                      const std::string& version) = 0;
};

struct TypeState {
  std::string accepted_version;
  // Delta protocol: the resources held, with their versions.
  std::map<std::string, std::pair<std::string, google::protobuf::Any>> resources;
  std::string last_nonce;
  std::string last_error;  // empty when the last response was ACKed
  std::chrono::system_clock::time_point last_error_time;
  uint64_t acks = 0;
  uint64_t nacks = 0;
};

// Error text for a NACK: at most `max` bytes and "... (N more bytes)", since parts of it come
// from the server. Cut on a character boundary: the field is a proto3 string, which a parser
// refuses if it is not UTF-8, and the server would never see the NACK.
std::string boundedErrorText(absl::string_view text, size_t max = 4096);

class AdsClient : public GrpcStreamCallbacks {
 public:
  // `delta`: use DeltaAggregatedResources (incremental) instead of state of the world.
  // `initial_fetch_timeout` (0: none): until a first response is accepted, a stream on which
  // no response arrives within it is ended and the next server tried.
  AdsClient(event::Dispatcher& dispatcher, std::vector<network::Address> servers,
            config::v1::Node node, ConfigApplier& applier, bool delta = false,
            StreamOptions stream_options = {},
            std::chrono::milliseconds initial_fetch_timeout = std::chrono::milliseconds(15000));
  ~AdsClient() override;

  void start();
  bool connected() const { return stream_ != nullptr && stream_->ready(); }
  const std::map<std::string, TypeState>& typeStates() const { return types_; }
  const std::string& currentServer() const { return current_server_; }

  // GrpcStreamCallbacks
  void onStreamReady() override;
  void onMessage(absl::string_view message) override;
  void onStreamClosed(int grpc_status, absl::string_view message) override;

 private:
  void connect();
  void scheduleReconnect();
  void onFirstResponseTimeout();
  void noteAnswer(const std::string& nonce, const std::string& error);
  void sendRequest(const std::string& type_url, const std::string& version,
                   const std::string& nonce, const std::string& error);
  void sendDeltaRequest(const std::string& type_url, const std::string& nonce,
                        const std::string& error, bool initial);
  void onSotwResponse(absl::string_view message);
  void onDeltaResponse(absl::string_view message);
  // A response that does not parse: logged, and the stream ended (no quick reconnect).
  void abortUnparsable(absl::string_view what, size_t bytes);
  // A response we cannot answer: logged, and the stream ended (no quick reconnect).
  void abortStream(const std::string& error);
  // Applies `resources` as the complete set of `type_url`; records the outcome.
  absl::Status apply(TypeState& state, const std::string& type_url,
                     const std::vector<google::protobuf::Any>& resources,
                     const std::string& version);
  // Records a NACK of `version` (the caller sends it).
  void reject(TypeState& state, const std::string& type_url, const std::string& version,
              absl::string_view error);

  event::Dispatcher& dispatcher_;
  std::vector<network::Address> servers_;
  size_t next_server_ = 0;
  std::string current_server_;
  config::v1::Node node_;
  ConfigApplier& applier_;
  std::unique_ptr<GrpcStream> stream_;
  event::TimerPtr retry_timer_;
  // Armed when a stream is ready while nothing was ever accepted; any response disarms it.
  event::TimerPtr first_response_timer_;
  std::chrono::milliseconds initial_fetch_timeout_;
  std::chrono::milliseconds backoff_;
  // This stream: a response accepted (the backoff starts over when it ends), or ended by us
  // for a response we could not read (it does not).
  bool stream_accepted_ = false;
  bool stream_aborted_ = false;
  std::mt19937_64 rng_;
  std::map<std::string, TypeState> types_;
  bool delta_;
  StreamOptions stream_options_;
};

}  // namespace portico::xds
