#include "source/control_plane/store/directory_store.h"

#include <dirent.h>
#include <fcntl.h>
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

// A resource file larger than this is refused when the directory is loaded.
constexpr size_t kMaxResourceFileBytes = 64 * 1024 * 1024;

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
  std::string tmp = dir + "/.portico-tmp-XXXXXX";
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
// `staged` is empty. `old_text` is what the file held before (nullopt: it did not exist).
struct FileChange {
  std::string path;
  std::string staged;
  std::optional<std::string> old_text;
};

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

// Puts every change in place, in order. If one fails, the files changed before it get their
// old text back (best effort: the error says when that failed too) and the rest stay as they
// were.
absl::Status commitChanges(std::vector<FileChange>& changes) {
  for (FileChange& c : changes) {
    if (::access(c.path.c_str(), F_OK) != 0 && errno == ENOENT) continue;
    auto text = readFileBounded(c.path, kMaxResourceFileBytes);
    if (!text.ok()) {
      discardStaged(changes);
      return text.status();
    }
    c.old_text = std::move(*text);
  }
  for (size_t i = 0; i < changes.size(); i++) {
    const FileChange& c = changes[i];
    const bool failed = c.staged.empty() ? ::unlink(c.path.c_str()) != 0 && errno != ENOENT
                                         : rename_file(c.staged.c_str(), c.path.c_str()) != 0;
    if (!failed) continue;
    std::string error =
        absl::StrCat(c.staged.empty() ? "unlink " : "rename to ", c.path, ": ", strerror(errno));
    discardStaged(changes, i);
    for (size_t j = 0; j < i; j++) {
      absl::Status restored = restoreFile(changes[j]);
      if (!restored.ok()) absl::StrAppend(&error, "; restoring failed too: ", restored.message());
    }
    return absl::InternalError(error);
  }
  if (!changes.empty()) syncDirectoryOf(changes.front().path);
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
    auto text = readFileBounded(dir_ + "/" + f, kMaxResourceFileBytes);
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
  std::vector<FileChange> changes;
  for (const std::string& path : paths) {
    auto& entries = files[path.substr(dir_.size() + 1)];
    FileChange change{path, "", std::nullopt};
    if (!entries.empty()) {
      std::stable_sort(entries.begin(), entries.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
      std::vector<ResourceConstSharedPtr> list;
      for (auto& e : entries) list.push_back(e.second);
      auto tmp = stageFile(path, resourcesToFileText(list));
      if (!tmp.ok()) {
        discardStaged(changes);
        return tmp.status();
      }
      change.staged = *tmp;
    }
    changes.push_back(std::move(change));
  }
  absl::Status committed = commitChanges(changes);
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
