#include "source/common/access_log/access_log.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "source/common/common/logger.h"

namespace portico::access_log {

namespace {
constexpr size_t kMaxQueuedBytes = 16 * 1024 * 1024;

// Lines formatted on this thread and not yet handed to their writer, per writer.
struct PendingLines {
  absl::flat_hash_map<AccessLogWriter*, std::pair<std::shared_ptr<AccessLogWriter>, std::string>>
      by_writer;
  bool flush_scheduled = false;
};
thread_local PendingLines pending;
}  // namespace

namespace {
// Process-wide totals (AccessLogWriter::totals()); relaxed: they are only counted and read.
std::atomic<uint64_t> total_dropped_lines{0};
std::atomic<uint64_t> total_write_failed{0};
std::atomic<uint64_t> total_reopen_failed{0};

// Live writers by path (weak: a writer lives as long as a config uses it).
struct WriterRegistry {
  std::mutex mutex;
  absl::flat_hash_map<std::string, std::weak_ptr<AccessLogWriter>> writers ABSL_GUARDED_BY(mutex);
};
WriterRegistry& registry() {
  static WriterRegistry* r = new WriterRegistry();  // never destroyed: used until exit
  return *r;
}
}  // namespace

struct AccessLogWriter::Core {
  Core(FILE* f, std::string p) : file(f), path(std::move(p)) {}
  void run();                                             // the writer thread
  void reopenFile();                                      // on the writer thread
  void writeBatch(const std::deque<std::string>& batch);  // on the writer thread

  FILE* file;  // owned by the writer thread after construction
  const std::string path;
  mutable std::mutex mutex;
  std::condition_variable cv;
  std::deque<std::string> queue ABSL_GUARDED_BY(mutex);
  size_t queued_bytes ABSL_GUARDED_BY(mutex) = 0;
  // The batch the writer thread is writing: still held, so still counted against the limit.
  size_t writing_bytes ABSL_GUARDED_BY(mutex) = 0;
  uint64_t dropped ABSL_GUARDED_BY(mutex) = 0;  // lines
  uint64_t dropped_reported = 0;                // writer thread only
  std::atomic<uint64_t> write_errors{0};  // batches that failed (written by the writer thread)
  bool last_write_failed = false;         // writer thread only
  bool stop ABSL_GUARDED_BY(mutex) = false;
  bool reopen ABSL_GUARDED_BY(mutex) = false;
  uint64_t reopens ABSL_GUARDED_BY(mutex) = 0;
  std::atomic<bool> finished{false};  // run() returned: joining is immediate
};

namespace {
// Threads of destroyed writers, still writing their last lines or finished and not joined.
// Finished ones are joined whenever another is added, so the list holds at most the writers
// retired while their disk was slow.
struct RetiredThreads {
  std::mutex mutex;
  // Each thread with its writer's "finished" flag (which keeps the writer's core alive).
  using Entry = std::pair<std::thread, std::shared_ptr<const std::atomic<bool>>>;
  std::vector<Entry> threads ABSL_GUARDED_BY(mutex);
  void joinFinished() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex) {
    std::erase_if(threads, [](Entry& entry) {
      if (!entry.second->load(std::memory_order_acquire)) return false;
      entry.first.join();
      return true;
    });
  }
  // Joins each thread that finishes within `limit`; detaches the rest. Returns their count.
  size_t joinAll(std::chrono::milliseconds limit) {
    std::vector<Entry> all;
    {
      std::lock_guard<std::mutex> lock(mutex);
      all.swap(threads);
    }
    const auto deadline = std::chrono::steady_clock::now() + limit;
    size_t left = 0;
    for (auto& entry : all) {
      // The finished flag, not join(): a thread blocked in fwrite() never returns.
      while (!entry.second->load(std::memory_order_acquire) &&
             std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      if (entry.second->load(std::memory_order_acquire)) {
        entry.first.join();
      } else {
        entry.first.detach();  // it holds its own reference to its writer's core
        left++;
      }
    }
    return left;
  }
  // A joinable std::thread destroyed at exit would terminate the process.
  ~RetiredThreads() { joinAll(std::chrono::seconds(5)); }
};
RetiredThreads& retired() {
  static RetiredThreads r;
  return r;
}
}  // namespace

absl::StatusOr<std::shared_ptr<AccessLogWriter>> AccessLogWriter::open(const std::string& path) {
  FILE* f = path == "/dev/stdout" ? stdout : fopen(path.c_str(), "a");
  if (f == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot open access log '", path, "': ", strerror(errno)));
  }
  retired();  // constructed before any writer, so destroyed (joining) after the last one
  return std::shared_ptr<AccessLogWriter>(new AccessLogWriter(std::make_shared<Core>(f, path)));
}

absl::Status AccessLogWriter::checkWritable(const std::string& path) {
  const auto refused = [&path](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("cannot open access log '", path, "': ", why));
  };
  if (path == "/dev/stdout") return absl::OkStatus();
  if (path.empty()) return refused("empty path");
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return refused(strerror(EISDIR));
    if (::access(path.c_str(), W_OK) != 0) return refused(strerror(errno));
    return absl::OkStatus();
  }
  if (errno != ENOENT) return refused(strerror(errno));
  const size_t slash = path.rfind('/');
  const std::string dir =
      slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  if (::access(dir.c_str(), W_OK | X_OK) != 0) return refused(strerror(errno));
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<AccessLogWriter>> AccessLogWriter::openShared(
    const std::string& path) {
  WriterRegistry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  absl::erase_if(r.writers, [](const auto& entry) { return entry.second.expired(); });
  std::shared_ptr<AccessLogWriter> writer = r.writers[path].lock();
  if (writer != nullptr) return writer;
  auto opened = open(path);
  if (!opened.ok()) {
    r.writers.erase(path);
    return opened.status();
  }
  r.writers[path] = *opened;
  return *opened;
}

void AccessLogWriter::reopenAll() {
  std::vector<std::shared_ptr<AccessLogWriter>> live;
  {
    WriterRegistry& r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    for (auto& [path, weak] : r.writers) {
      if (auto w = weak.lock()) live.push_back(std::move(w));
    }
  }
  for (auto& w : live) w->reopen();
}

size_t AccessLogWriter::joinRetired(std::chrono::milliseconds limit) {
  return retired().joinAll(limit);
}

AccessLogWriter::AccessLogWriter(std::shared_ptr<Core> core) : core_(std::move(core)) {
  thread_ = std::thread([core = core_] { core->run(); });
}

AccessLogWriter::~AccessLogWriter() {
  {
    std::lock_guard<std::mutex> lock(core_->mutex);
    core_->stop = true;
  }
  core_->cv.notify_one();
  RetiredThreads& r = retired();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.joinFinished();
  std::shared_ptr<const std::atomic<bool>> finished(core_, &core_->finished);
  r.threads.emplace_back(std::move(thread_), std::move(finished));
}

void AccessLogWriter::reopen() {
  {
    std::lock_guard<std::mutex> lock(core_->mutex);
    core_->reopen = true;
  }
  core_->cv.notify_one();
}

uint64_t AccessLogWriter::reopenCount() const {
  std::lock_guard<std::mutex> lock(core_->mutex);
  return core_->reopens;
}

bool AccessLogWriter::submit(std::string&& batch) {
  {
    std::lock_guard<std::mutex> lock(core_->mutex);
    if (core_->queued_bytes + core_->writing_bytes + batch.size() > kMaxQueuedBytes) {
      const auto lines = static_cast<uint64_t>(std::count(batch.begin(), batch.end(), '\n'));
      core_->dropped += lines;  // the writer reports it
      total_dropped_lines.fetch_add(lines, std::memory_order_relaxed);
      return false;
    }
    core_->queued_bytes += batch.size();
    core_->queue.push_back(std::move(batch));
  }
  core_->cv.notify_one();
  return true;
}

AccessLogWriter::Totals AccessLogWriter::totals() {
  return Totals{total_dropped_lines.load(std::memory_order_relaxed),
                total_write_failed.load(std::memory_order_relaxed),
                total_reopen_failed.load(std::memory_order_relaxed)};
}

uint64_t AccessLogWriter::writeErrors() const {
  return core_->write_errors.load(std::memory_order_relaxed);
}

uint64_t AccessLogWriter::dropped() const {
  std::lock_guard<std::mutex> lock(core_->mutex);
  return core_->dropped;
}

void AccessLogWriter::Core::reopenFile() {
  if (file == stdout) return;
  FILE* f = fopen(path.c_str(), "a");
  if (f == nullptr) {
    total_reopen_failed.fetch_add(1, std::memory_order_relaxed);
    PORTICO_LOG(kError, "access log: cannot reopen '%s': %s; still writing to the old file",
                path.c_str(), strerror(errno));
    return;
  }
  fclose(file);
  file = f;
}

void AccessLogWriter::Core::writeBatch(const std::deque<std::string>& batch) {
  // After a failed write the file may end in a partial line: start on a new one, so each
  // line stays parseable (JSON lines above all).
  if (last_write_failed && !batch.empty()) fputc('\n', file);
  bool ok = true;
  for (const std::string& s : batch) ok = fwrite(s.data(), 1, s.size(), file) == s.size() && ok;
  ok = fflush(file) == 0 && ok;
  if (ok) {
    last_write_failed = false;
    return;
  }
  const int error = errno;
  clearerr(file);
  write_errors++;
  total_write_failed.fetch_add(1, std::memory_order_relaxed);
  if (!last_write_failed) {  // once per run of failures (a full disk fails every batch)
    PORTICO_LOG(kError, "access log '%s': write failed: %s; lines are being lost", path.c_str(),
                strerror(error));
  }
  last_write_failed = true;
}

void AccessLogWriter::Core::run() {
  std::unique_lock<std::mutex> lock(mutex);
  while (true) {
    cv.wait(lock, [this] { return stop || reopen || !queue.empty(); });
    std::deque<std::string> batch;
    batch.swap(queue);
    writing_bytes = queued_bytes;
    queued_bytes = 0;
    bool stopping = stop;
    bool reopening = reopen;
    reopen = false;
    const uint64_t dropped_now = dropped;
    lock.unlock();
    if (dropped_now > dropped_reported) {
      // Said here, off the workers, once per batch at most: the writer fell behind.
      PORTICO_LOG(kWarn,
                  "access log '%s': %llu lines dropped (the disk is slower than the traffic)",
                  path.c_str(), static_cast<unsigned long long>(dropped_now - dropped_reported));
      dropped_reported = dropped_now;
    }
    if (reopening) reopenFile();
    writeBatch(batch);
    batch.clear();
    lock.lock();
    writing_bytes = 0;
    if (reopening) reopens++;
    if (stopping && queue.empty()) break;
  }
  lock.unlock();
  if (file != stdout) fclose(file);
  finished.store(true, std::memory_order_release);
}

void AccessLog::log(const http::StreamInfo& info, event::Dispatcher& dispatcher) {
  auto& entry = pending.by_writer[writer_.get()];
  if (entry.first == nullptr) entry.first = writer_;
  formatter_->format(info, entry.second);
  if (!pending.flush_scheduled) {
    pending.flush_scheduled = true;
    dispatcher.runAtEndOfTurn(flushThreadPending);
  }
}

void flushThreadPending() {
  pending.flush_scheduled = false;
  for (auto it = pending.by_writer.begin(); it != pending.by_writer.end();) {
    auto& entry = it->second;
    if (entry.second.empty()) {
      // Nothing for this writer since the last flush: let go of it, so a writer no config uses
      // any more closes its file (and a rotation does not recreate a file nobody logs to).
      pending.by_writer.erase(it++);
      continue;
    }
    entry.first->submit(std::move(entry.second));
    entry.second.clear();
    ++it;
  }
}

void releaseThreadWriters() {
  flushThreadPending();
  pending.by_writer.clear();  // log() adds an entry again for a writer still in use
}

}  // namespace portico::access_log
