#pragma once

// AccessLog: formats one line per request on the worker (cheap, no locks), batches lines per
// worker and hands each batch to a writer thread at most once per event-loop turn. The writer
// owns the file. The queue is bounded: when the writer falls behind, lines are dropped and
// counted rather than growing memory or blocking a worker.

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

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
  // Whether open(path) should succeed, without creating anything: an existing file must be
  // writable and not a directory, a missing one's directory writable. The error reads as
  // open()'s would.
  static absl::Status checkWritable(const std::string& path);
  // Asks every live writer to reopen its file (after log rotation: SIGUSR1, /reopen_logs).
  // Lines already queued go to the new file. Thread-safe; returns at once.
  static void reopenAll();
  // Totals over every writer of the process, live or gone (the server exports them as the
  // counters access_log.dropped_lines, access_log.write_failed and access_log.reopen_failed).
  struct Totals {
    uint64_t dropped_lines = 0;  // a full queue: the disk is slower than the traffic
    uint64_t write_failed = 0;   // batches the file refused
    uint64_t reopen_failed = 0;  // reopens that kept the old file
  };
  static Totals totals();
  // Waits, up to `limit`, for the threads of destroyed writers to write their last lines and
  // close their files. Call before exit (and in tests before reading a file whose writer is
  // gone). Returns how many are still writing after `limit` (a reader that stopped reading
  // stdout, a hung disk): those are detached with their lines, and the caller should leave
  // with _exit(), since exit() would flush stdio behind the same blocked stream.
  static size_t joinRetired(std::chrono::milliseconds limit = std::chrono::seconds(5));
  // Returns at once, even on a worker: the writer thread writes what is queued, closes the
  // file and exits on its own (a slow disk must not stall the worker that dropped the last
  // reference after a config change). joinRetired() waits for it.
  ~AccessLogWriter();

  // Thread-safe. Takes the batch; returns false (dropping it) when the queue is full.
  bool submit(std::string&& batch);
  uint64_t dropped() const;  // lines
  // Batches the file refused (a full disk, an I/O error); each run of them is logged once.
  uint64_t writeErrors() const;
  // Thread-safe. The writer thread reopens the path before its next write; if that fails the
  // old file stays in use and the error is logged.
  void reopen();
  // Reopens done so far (for tests and the admin's answer).
  uint64_t reopenCount() const;

 private:
  struct Core;  // the file and the queue, shared with the writer thread
  explicit AccessLogWriter(std::shared_ptr<Core> core);

  std::shared_ptr<Core> core_;
  std::thread thread_;
};

// Hands this thread's formatted lines to their writers (end of turn, worker shutdown).
void flushThreadPending();
// flushThreadPending(), then lets go of every writer this thread holds (after a config change:
// a writer the new config no longer uses closes even if this thread never logs again).
void releaseThreadWriters();

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
