#include "source/control_plane/store/directory_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <optional>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "source/common/common/read_file.h"
#include "source/control_plane/store/resource_parser.h"

namespace portico::control_plane {
namespace {

int originIndex(absl::string_view origin) {
  size_t hash = origin.rfind('#');
  int index = 0;
  if (hash != absl::string_view::npos) (void)absl::SimpleAtoi(origin.substr(hash + 1), &index);
  return index;
}

// Hidden, so never read as resources (isResourceFile).
constexpr char kJournalName[] = ".portico-journal";
constexpr char kLockName[] = ".portico-lock";
constexpr char kTempPrefix[] = ".portico-tmp-";

std::string fileNameFor(const Resource& r) {
  std::string name = absl::AsciiStrToLower(kindName(r.kind));
  name += "-";
  // File names stop at 255 bytes: a long resource name keeps its first 100 characters and a
  // hash of the whole, so distinct names still get distinct files.
  constexpr size_t kMaxNameChars = 100;
  for (size_t i = 0; i < r.name.size() && i < kMaxNameChars; i++) {
    const char c = r.name[i];
    name += (absl::ascii_isalnum(c) || c == '-' || c == '_') ? c : '_';
  }
  if (r.name.size() > kMaxNameChars) {
    absl::StrAppend(&name, "-", contentHash(r.name));
  }
  return name + ".yaml";
}

absl::Status writeAll(int fd, const std::string& text) {
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return absl::InternalError(absl::StrCat("write: ", strerror(errno)));
    off += n;
  }
  return absl::OkStatus();
}

// rename(2), or a test's stand-in (setRenameForTest).
int (*rename_file)(const char*, const char*) = ::rename;

std::string directoryOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

// Makes renames and removals in the directory of `path` durable.
void syncDirectoryOf(const std::string& path) {
  int dfd = ::open(directoryOf(path).c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

// Writes `text` to a new hidden file beside `path` (the store skips hidden files) and fsyncs
// it. Returns the temporary file's path; nothing is left behind on error.
absl::StatusOr<std::string> stageFile(const std::string& path, const std::string& text) {
  const std::string dir = directoryOf(path);
  std::string tmp = absl::StrCat(dir, "/", kTempPrefix, "XXXXXX");
  int fd = mkstemp(tmp.data());
  if (fd < 0) return absl::InternalError(absl::StrCat("mkstemp in ", dir, ": ", strerror(errno)));
  absl::Status st = writeAll(fd, text);
  if (st.ok() && ::fchmod(fd, 0644) != 0) st = absl::InternalError("fchmod failed");
  if (st.ok() && ::fsync(fd) != 0)
    st = absl::InternalError(absl::StrCat("fsync: ", strerror(errno)));
  if (::close(fd) != 0 && st.ok())
    st = absl::InternalError(absl::StrCat("close: ", strerror(errno)));
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return absl::Status(st.code(), absl::StrCat("writing ", path, ": ", st.message()));
  }
  return tmp;
}

// One file of an apply(): replaced by `staged` (a stageFile() result), or removed when
// `staged` is empty. `old_text` is what the file held before (nullopt: it did not exist);
// `expected` what the caller's load read there ("Kind/name@version" in file order).
struct FileChange {
  std::string path;
  std::string staged;
  std::optional<std::string> old_text;
  std::vector<std::string> expected;
};

std::string describe(const Resource& r) {
  return absl::StrCat(kindName(r.kind), "/", r.name, "@", r.version);
}

std::string baseName(const std::string& path) { return path.substr(path.rfind('/') + 1); }

// Holds an exclusive lock on the directory's hidden lock file: one writer at a time, across
// processes (the kernel drops it if the holder dies). An open-file-description record lock,
// which NFS carries too (flock on NFS needs a file open for writing: not a directory).
class DirectoryLock {
 public:
  static absl::StatusOr<std::unique_ptr<DirectoryLock>> acquire(const std::string& dir) {
    const std::string path = absl::StrCat(dir, "/", kLockName);
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return absl::InternalError(absl::StrCat("open ", path, ": ", strerror(errno)));
    struct flock whole {};
    whole.l_type = F_WRLCK;
    whole.l_whence = SEEK_SET;  // l_start 0, l_len 0: the whole file
    while (::fcntl(fd, F_OFD_SETLKW, &whole) != 0) {
      if (errno == EINTR) continue;
      absl::Status st = absl::InternalError(absl::StrCat("lock ", path, ": ", strerror(errno)));
      ::close(fd);
      return st;
    }
    return std::unique_ptr<DirectoryLock>(new DirectoryLock(fd));
  }
  ~DirectoryLock() { ::close(fd_); }  // releases the lock

 private:
  explicit DirectoryLock(int fd) : fd_(fd) {}
  int fd_;
};

// The journal of a multi-file write: "R\0<staged>\0<target>\0" per file put in place and
// "D\0<target>\0" per file removed, names relative to the directory (NUL cannot be in one).
std::string journalText(const std::vector<FileChange>& changes) {
  std::string out;
  for (const FileChange& c : changes) {
    if (c.staged.empty()) {
      absl::StrAppend(&out, "D", std::string(1, '\0'), baseName(c.path), std::string(1, '\0'));
    } else {
      absl::StrAppend(&out, "R", std::string(1, '\0'), baseName(c.staged), std::string(1, '\0'),
                      baseName(c.path), std::string(1, '\0'));
    }
  }
  return out;
}

// Removes the temporary files of changes[from..].
void discardStaged(const std::vector<FileChange>& changes, size_t from = 0) {
  for (size_t i = from; i < changes.size(); i++) {
    if (!changes[i].staged.empty()) ::unlink(changes[i].staged.c_str());
  }
}

// Undoes a change that was put in place.
absl::Status restoreFile(const FileChange& c) {
  if (c.old_text) return DirectoryStore::writeFileAtomically(c.path, *c.old_text);
  if (::unlink(c.path.c_str()) != 0 && errno != ENOENT) {
    return absl::InternalError(absl::StrCat("unlink ", c.path, ": ", strerror(errno)));
  }
  return absl::OkStatus();
}

// Whether the file of `c` still holds what the caller's load read there.
absl::Status checkUnchanged(const FileChange& c) {
  std::vector<std::string> found;
  if (c.old_text) {
    auto parsed = parseResources(*c.old_text, baseName(c.path));
    if (!parsed.ok()) {
      return absl::AbortedError(absl::StrCat(baseName(c.path),
                                             " changed since it was read and does not parse now; "
                                             "nothing was written:\n",
                                             parsed.status().message()));
    }
    for (const auto& r : *parsed) found.push_back(describe(*r));
  }
  if (found != c.expected) {
    return absl::AbortedError(absl::StrCat(
        baseName(c.path),
        " changed since it was read (an edit by hand, or another writer); nothing was written: "
        "retry"));
  }
  return absl::OkStatus();
}

// Puts every change in place, in order, under the journal (see recover()). Nothing is written
// when a file changed since the caller's load. If a rename fails, the files changed before it
// get their old text back (best effort: the error says when that failed too) and the rest stay
// as they were.
absl::Status commitChanges(std::vector<FileChange>& changes, const std::string& dir,
                           size_t max_file_bytes) {
  for (FileChange& c : changes) {
    if (::access(c.path.c_str(), F_OK) == 0 || errno != ENOENT) {
      auto text = readFileBounded(c.path, max_file_bytes);
      if (!text.ok()) {
        discardStaged(changes);
        return text.status();
      }
      c.old_text = std::move(*text);
    }
    if (absl::Status st = checkUnchanged(c); !st.ok()) {
      discardStaged(changes);
      return st;
    }
  }
  // The journal goes in place (whole, by rename) only once every staged file is on disk: from
  // then on recover() can finish the write whatever happens.
  const std::string journal = absl::StrCat(dir, "/", kJournalName);
  if (changes.size() > 1) {
    if (absl::Status st = DirectoryStore::writeFileAtomically(journal, journalText(changes));
        !st.ok()) {
      discardStaged(changes);
      return st;
    }
  }
  for (size_t i = 0; i < changes.size(); i++) {
    const FileChange& c = changes[i];
    const bool failed = c.staged.empty() ? ::unlink(c.path.c_str()) != 0 && errno != ENOENT
                                         : rename_file(c.staged.c_str(), c.path.c_str()) != 0;
    if (!failed) continue;
    std::string error =
        absl::StrCat(c.staged.empty() ? "unlink " : "rename to ", c.path, ": ", strerror(errno));
    // The journal goes before the rollback: replayed after it, it would undo the rollback.
    // Should it stay, the write is finished forward by the next recover() instead.
    if (changes.size() > 1 && ::unlink(journal.c_str()) != 0 && errno != ENOENT) {
      return absl::InternalError(absl::StrCat(error, "; the journal could not be removed (",
                                              strerror(errno),
                                              "): the write will be finished by the next "
                                              "recovery (a write, a reload or a restart)"));
    }
    syncDirectoryOf(journal);
    discardStaged(changes, i);
    for (size_t j = 0; j < i; j++) {
      absl::Status restored = restoreFile(changes[j]);
      if (!restored.ok()) absl::StrAppend(&error, "; restoring failed too: ", restored.message());
    }
    return absl::InternalError(error);
  }
  if (!changes.empty()) syncDirectoryOf(changes.front().path);
  if (changes.size() > 1) {
    ::unlink(journal.c_str());
    syncDirectoryOf(journal);
  }
  return absl::OkStatus();
}

}  // namespace

std::string originFile(absl::string_view origin) {
  if (absl::StartsWith(origin, kNewOriginPrefix)) return "";
  size_t hash = origin.rfind('#');
  if (hash == absl::string_view::npos) return "";
  return std::string(origin.substr(0, hash));
}

bool DirectoryStore::isResourceFile(absl::string_view name) {
  if (name.empty() || name[0] == '.') return false;
  return absl::EndsWith(name, ".yaml") || absl::EndsWith(name, ".yml") ||
         absl::EndsWith(name, ".json");
}

absl::StatusOr<ResourceMap> DirectoryStore::load() const {
  DIR* d = opendir(dir_.c_str());
  if (d == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("cannot open directory '", dir_, "': ", strerror(errno)));
  }
  std::vector<std::string> files;
  while (dirent* e = readdir(d)) {
    if (isResourceFile(e->d_name)) files.push_back(e->d_name);
  }
  closedir(d);
  std::sort(files.begin(), files.end());
  std::vector<ResourceConstSharedPtr> all;
  for (const std::string& f : files) {
    auto text = readFileBounded(dir_ + "/" + f, max_file_bytes_);
    if (!text.ok() && absl::IsNotFound(text.status()) &&
        access((dir_ + "/" + f).c_str(), F_OK) != 0) {
      continue;  // removed between readdir and open: the watcher reloads again
    }
    if (!text.ok()) return text.status();
    auto parsed = parseResources(*text, f);
    if (!parsed.ok()) return parsed.status();
    all.insert(all.end(), parsed->begin(), parsed->end());
  }
  auto map = buildResourceMap(all);
  if (!map.ok()) return map.status();
  absl::Status valid = toStatus(validateResources(*map));
  if (!valid.ok()) return valid;
  return map;
}

absl::StatusOr<ResourceMap> DirectoryStore::preview(
    const ResourceMap& current, const std::vector<ResourceConstSharedPtr>& upserts,
    const std::vector<ResourceKey>& deletes) const {
  ResourceMap next = current;
  for (const ResourceKey& key : deletes) {
    if (next.erase(key) == 0) {
      return absl::NotFoundError(absl::StrCat(kindName(key.first), "/", key.second, " not found"));
    }
  }
  absl::flat_hash_set<std::string> seen;
  for (const auto& r : upserts) {
    if (!seen.insert(absl::StrCat(kindName(r->kind), "/", r->name)).second) {
      return absl::InvalidArgumentError(absl::StrCat(r->origin, ": ", kindName(r->kind), "/",
                                                     r->name, ": spec.name: given twice"));
    }
    auto it = next.find({r->kind, r->name});
    // An updated resource stays in its file (and document slot).
    std::string origin = it != next.end() ? it->second->origin : kNewOriginPrefix + r->origin;
    auto placed = std::make_shared<Resource>(*r);
    placed->origin = origin;
    next[{r->kind, r->name}] = std::move(placed);
  }
  absl::Status valid = toStatus(validateResources(next));
  if (!valid.ok()) return valid;
  return next;
}

absl::StatusOr<ResourceMap> DirectoryStore::apply(
    const ResourceMap& current, const std::vector<ResourceConstSharedPtr>& upserts,
    const std::vector<ResourceKey>& deletes) {
  std::lock_guard<std::mutex> lock(write_mutex_);
  auto next = preview(current, upserts, deletes);
  if (!next.ok()) return next.status();
  auto directory_lock = DirectoryLock::acquire(dir_);
  if (!directory_lock.ok()) return directory_lock.status();
  if (absl::Status st = recoverLocked(); !st.ok()) return st;

  // Files to rewrite: those of deleted and updated resources, and the new resources' own files.
  std::map<std::string, std::vector<std::pair<int, ResourceConstSharedPtr>>> files;
  absl::flat_hash_set<std::string> touched;
  for (const ResourceKey& key : deletes) touched.insert(originFile(current.at(key)->origin));
  for (const auto& [key, r] : *next) {
    std::string file = originFile(r->origin);
    if (file.empty()) {  // new: its own file, after whatever that file already holds
      file = fileNameFor(*r);
      touched.insert(file);
      files[file].emplace_back(1 << 30, r);
      continue;
    }
    files[file].emplace_back(originIndex(r->origin), r);
    auto old = current.find(key);
    if (old == current.end() || old->second->version != r->version) touched.insert(file);
  }
  // Every new file is written and fsynced under a temporary name first, so a full disk or an
  // I/O error leaves every file as it was. Only then do the renames (and removals) replace
  // the files, in name order; should one of those fail, the files already replaced get their
  // old text back.
  std::vector<std::string> paths;
  for (const std::string& file : touched) paths.push_back(dir_ + "/" + file);
  std::sort(paths.begin(), paths.end());
  // What the caller's load read in each file, to find files changed since.
  std::map<std::string, std::vector<std::pair<int, std::string>>> expected;
  for (const auto& [key, r] : current) {
    std::string file = originFile(r->origin);
    if (!file.empty()) expected[file].emplace_back(originIndex(r->origin), describe(*r));
  }
  std::vector<FileChange> changes;
  for (const std::string& path : paths) {
    const std::string file = path.substr(dir_.size() + 1);
    auto& entries = files[file];
    FileChange change{path, "", std::nullopt, {}};
    auto& read = expected[file];
    std::stable_sort(read.begin(), read.end());
    for (auto& [index, text] : read) change.expected.push_back(std::move(text));
    if (!entries.empty()) {
      std::stable_sort(entries.begin(), entries.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
      std::vector<ResourceConstSharedPtr> list;
      for (auto& e : entries) list.push_back(e.second);
      std::string text = resourcesToFileText(list);
      if (text.size() > max_file_bytes_) {
        discardStaged(changes);
        return absl::FailedPreconditionError(absl::StrCat(
            file, " would be ", text.size(), " bytes, over the ", max_file_bytes_,
            " a resource file may hold; nothing was written (move some resources to files of "
            "their own)"));
      }
      auto tmp = stageFile(path, text);
      if (!tmp.ok()) {
        discardStaged(changes);
        return tmp.status();
      }
      change.staged = *tmp;
    }
    changes.push_back(std::move(change));
  }
  absl::Status committed = commitChanges(changes, dir_, max_file_bytes_);
  if (!committed.ok()) return committed;
  // Reload so that origins (file, document index) are exactly what is on disk now. It also
  // reads any edit made by hand since the caller's load: should that not load, the change is
  // on disk all the same, and the error says so.
  auto reloaded = load();
  if (!reloaded.ok()) {
    return absl::AbortedError(absl::StrCat(
        "the change was written, but the directory, with an edit made meanwhile, does not "
        "load; the previous snapshot is still served until it does:\n",
        reloaded.status().message()));
  }
  return reloaded;
}

absl::Status DirectoryStore::recover() {
  // Nothing to finish or remove (the usual case): no lock, so a read-only directory (a
  // ConfigMap, say) loads as before.
  bool needed = false;
  if (DIR* d = opendir(dir_.c_str())) {
    while (dirent* e = readdir(d)) {
      if (e->d_name == absl::string_view(kJournalName) ||
          absl::StartsWith(e->d_name, kTempPrefix)) {
        needed = true;
        break;
      }
    }
    closedir(d);
  }
  if (!needed) return absl::OkStatus();
  std::lock_guard<std::mutex> lock(write_mutex_);
  auto directory_lock = DirectoryLock::acquire(dir_);
  if (!directory_lock.ok()) return directory_lock.status();
  return recoverLocked();
}

absl::Status DirectoryStore::recoverLocked() {
  const std::string journal = absl::StrCat(dir_, "/", kJournalName);
  if (::access(journal.c_str(), F_OK) == 0) {
    auto text = readFileBounded(journal, max_file_bytes_);
    if (!text.ok()) return text.status();
    std::vector<std::string> fields = absl::StrSplit(*text, '\0');
    if (!fields.empty() && fields.back().empty()) fields.pop_back();
    for (size_t i = 0; i < fields.size();) {
      const bool rename = fields[i] == "R";
      const size_t n = rename ? 3 : 2;
      if ((!rename && fields[i] != "D") || i + n > fields.size()) {
        return absl::DataLossError(absl::StrCat(journal,
                                                " is not a journal this version wrote; "
                                                "move it away to start"));
      }
      const std::string target = absl::StrCat(dir_, "/", fields[i + n - 1]);
      if (rename) {
        const std::string staged = absl::StrCat(dir_, "/", fields[i + 1]);
        // Gone: put in place before the crash.
        if (::access(staged.c_str(), F_OK) == 0 && ::rename(staged.c_str(), target.c_str()) != 0) {
          return absl::InternalError(
              absl::StrCat("finishing a write: rename to ", target, ": ", strerror(errno)));
        }
      } else if (::unlink(target.c_str()) != 0 && errno != ENOENT) {
        return absl::InternalError(
            absl::StrCat("finishing a write: unlink ", target, ": ", strerror(errno)));
      }
      i += n;
    }
    syncDirectoryOf(journal);
    ::unlink(journal.c_str());
    syncDirectoryOf(journal);
  }
  // Files staged by a write that crashed before its journal: under the lock no write is under
  // way, so every one is left over.
  if (DIR* d = opendir(dir_.c_str())) {
    std::vector<std::string> stale;
    while (dirent* e = readdir(d)) {
      if (absl::StartsWith(e->d_name, kTempPrefix)) stale.push_back(e->d_name);
    }
    closedir(d);
    for (const std::string& name : stale) ::unlink(absl::StrCat(dir_, "/", name).c_str());
  }
  return absl::OkStatus();
}

void DirectoryStore::setRenameForTest(int (*rename)(const char* from, const char* to)) {
  rename_file = rename != nullptr ? rename : ::rename;
}

absl::Status DirectoryStore::writeFileAtomically(const std::string& path, const std::string& text) {
  auto tmp = stageFile(path, text);
  if (!tmp.ok()) return tmp.status();
  if (::rename(tmp->c_str(), path.c_str()) != 0) {
    absl::Status st = absl::InternalError(absl::StrCat("rename to ", path, ": ", strerror(errno)));
    ::unlink(tmp->c_str());
    return st;
  }
  syncDirectoryOf(path);
  return absl::OkStatus();
}

}  // namespace portico::control_plane
