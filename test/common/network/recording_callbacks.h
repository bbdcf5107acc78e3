#pragma once

// Connection callbacks that record what a connection reports, for tests.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "source/common/buffer/buffer.h"
#include "source/common/network/connection.h"

namespace portico::network::test {

class RecordingCallbacks : public ConnectionCallbacks {
 public:
  void onData(buffer::Buffer& data) override {
    received += data.toString();
    data.clear();
    if (on_data) on_data();
  }
  void onEvent(ConnectionEvent event) override {
    events.push_back(event);
    if (on_event) on_event(event);
  }
  void onAboveWriteBufferHighWatermark() override { above++; }
  void onBelowWriteBufferLowWatermark() override { below++; }

  std::string received;
  std::vector<ConnectionEvent> events;
  int above = 0;
  int below = 0;
  void onRawForwardProgress(uint64_t bytes) override { forward_progress += bytes; }
  void onRawForwardDone(uint64_t bytes, bool input_follows) override {
    forwarded.push_back(bytes);
    forward_input_follows = input_follows;
  }

  std::vector<uint64_t> forwarded;
  uint64_t forward_progress = 0;
  bool forward_input_follows = false;
  std::function<void()> on_data;
  std::function<void(ConnectionEvent)> on_event;
};

}  // namespace portico::network::test
