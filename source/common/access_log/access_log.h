#pragma once

// AccessLog: formats one line per request on the worker (cheap, no locks), batches lines per
// worker and hands each batch to a writer thread at most once per event-loop turn. The writer
// owns the file. The queue is bounded: when the writer falls behind, lines are dropped and
// counted rather than growing memory or blocking a worker.

#include <condition_variable>
#include <cstdio>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "source/common/access_log/formatter.h"
#include "source/common/event/dispatcher.h"
#include "source/common/http/stream_info.h"

namespace portico::access_log {

class AccessLogWriter {
 public:
  // Opens `path` for appending ("/dev/stdout" allowed).
  static absl::StatusOr<std::shared_ptr<AccessLogWriter>> open(const std::string& path);
  // The writer already open for `path` if one is alive, else a new one: two listeners (or two
  // config versions) logging to one file share its thread and its position. Thread-safe.
  static absl::StatusOr<std::shared_ptr<AccessLogWriter>> openShared(const std::string& path);
  // Asks every live writer to reopen its file (after log rotation: SIGUSR1, /reopen_logs).
  // Lines already queued go to the new file. Thread-safe; returns at once.
  static void reopenAll();
  ~AccessLogWriter();

  // Thread-safe. Takes the batch; returns false (dropping it) when the queue is full.
  bool submit(std::string&& batch);
  uint64_t dropped() const;
  // Thread-safe. The writer thread reopens the path before its next write; if that fails the
  // old file stays in use and the error is logged.
  void reopen();
  // Reopens done so far (for tests and the admin's answer).
  uint64_t reopenCount() const;

 private:
  AccessLogWriter(FILE* file, std::string path);
  void run();
  void reopenFile();  // on the writer thread

  FILE* file_;  // owned by the writer thread after construction
  const std::string path_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::string> queue_ ABSL_GUARDED_BY(mutex_);
  size_t queued_bytes_ ABSL_GUARDED_BY(mutex_) = 0;
  uint64_t dropped_ ABSL_GUARDED_BY(mutex_) = 0;
  bool stop_ ABSL_GUARDED_BY(mutex_) = false;
  bool reopen_ ABSL_GUARDED_BY(mutex_) = false;
  uint64_t reopens_ ABSL_GUARDED_BY(mutex_) = 0;
  std::thread thread_;
};

// Hands this thread's formatted lines to their writers (end of turn, worker shutdown).
void flushThreadPending();

class AccessLog {
 public:
  AccessLog(std::shared_ptr<AccessLogWriter> writer, std::unique_ptr<Formatter> formatter)
      : writer_(std::move(writer)), formatter_(std::move(formatter)) {}

  // Called on a worker when a request completes. Lines are flushed at the end of the turn.
  void log(const http::StreamInfo& info, event::Dispatcher& dispatcher);

 private:
  std::shared_ptr<AccessLogWriter> writer_;
  std::unique_ptr<Formatter> formatter_;
};

}  // namespace portico::access_log
