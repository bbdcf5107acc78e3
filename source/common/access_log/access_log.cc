#include "source/common/access_log/access_log.h"

#include <cerrno>
#include <cstring>

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

absl::StatusOr<std::shared_ptr<AccessLogWriter>> AccessLogWriter::open(const std::string& path) {
  FILE* f = path == "/dev/stdout" ? stdout : fopen(path.c_str(), "a");
  if (f == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot open access log '", path, "': ", strerror(errno)));
  }
  return std::shared_ptr<AccessLogWriter>(new AccessLogWriter(f, path));
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

AccessLogWriter::AccessLogWriter(FILE* file, std::string path)
    : file_(file), path_(std::move(path)) {
  thread_ = std::thread([this] { run(); });
}

void AccessLogWriter::reopen() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    reopen_ = true;
  }
  cv_.notify_one();
}

uint64_t AccessLogWriter::reopenCount() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return reopens_;
}

void AccessLogWriter::reopenFile() {
  if (file_ == stdout) return;
  FILE* f = fopen(path_.c_str(), "a");
  if (f == nullptr) {
    PORTICO_LOG(kError, "access log: cannot reopen '%s': %s; still writing to the old file",
                path_.c_str(), strerror(errno));
    return;
  }
  fclose(file_);
  file_ = f;
}

AccessLogWriter::~AccessLogWriter() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
  if (file_ != stdout) fclose(file_);
}

bool AccessLogWriter::submit(std::string&& batch) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (queued_bytes_ + batch.size() > kMaxQueuedBytes) {
      dropped_++;
      return false;
    }
    queued_bytes_ += batch.size();
    queue_.push_back(std::move(batch));
  }
  cv_.notify_one();
  return true;
}

uint64_t AccessLogWriter::dropped() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return dropped_;
}

void AccessLogWriter::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    cv_.wait(lock, [this] { return stop_ || reopen_ || !queue_.empty(); });
    std::deque<std::string> batch;
    batch.swap(queue_);
    queued_bytes_ = 0;
    bool stop = stop_;
    bool reopen = reopen_;
    reopen_ = false;
    lock.unlock();
    if (reopen) reopenFile();
    for (const std::string& s : batch) fwrite(s.data(), 1, s.size(), file_);
    fflush(file_);
    lock.lock();
    if (reopen) reopens_++;
    if (stop && queue_.empty()) return;
  }
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

}  // namespace portico::access_log
