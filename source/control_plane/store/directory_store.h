#pragma once

// The source of truth: a directory of YAML/JSON resource files (see resource_parser.h).
// Reads are whole-directory loads; writes go through apply(), which validates the result first
// and then replaces each affected file atomically (write a temp file, fsync, rename, fsync the
// directory), so a reader (this process, an editor, another control-plane instance) only ever
// sees whole files. A write that touches several files is crash-safe as a whole: a journal
// names the staged files before any is put in place, and recover() finishes it after a crash.
// Writers (this process's and other instances') lock the directory's ".portico-lock", and a
// file changed since the caller's load is not overwritten.

#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "source/control_plane/store/resource.h"
#include "source/control_plane/store/validator.h"

namespace portico::control_plane {

class DirectoryStore {
 public:
  // A resource file may hold at most this much (load() refuses more; apply() does not write it).
  static constexpr size_t kMaxResourceFileBytes = 64 * 1024 * 1024;

  explicit DirectoryStore(std::string dir, size_t max_file_bytes = kMaxResourceFileBytes)
      : dir_(std::move(dir)), max_file_bytes_(max_file_bytes) {}

  // Finishes a write a crash interrupted (its journal says which staged files go where) and
  // removes temporary files left by one that crashed before its journal; with a write under
  // way in another instance, waits for it. Called before every load that is published or
  // written from (Controller), and by apply(). Takes no lock when there is nothing to do.
  absl::Status recover();

  // Whether a file of this name is read: *.yaml, *.yml, *.json, not hidden.
  static bool isResourceFile(absl::string_view name);

  // Parses every *.yaml, *.yml and *.json file (hidden files are skipped) and validates the
  // whole set. Errors name the file, document, resource and field path.
  absl::StatusOr<ResourceMap> load() const;

  // Returns `current` with `upserts` put and `deletes` removed, after validating it and writing
  // it to disk. An upsert of an existing resource rewrites the file it lives in; a new one goes
  // to "<kind>-<name>.yaml". Deleting an unknown resource is NotFound. Nothing is written when
  // validation fails (InvalidArgument with every error, one per line), when a file to rewrite
  // no longer holds what `current` says it does (Aborted: changed since it was read), or when
  // a rewritten file would be over the size limit (FailedPrecondition).
  absl::StatusOr<ResourceMap> apply(const ResourceMap& current,
                                    const std::vector<ResourceConstSharedPtr>& upserts,
                                    const std::vector<ResourceKey>& deletes);

  // Like apply() without writing: the validated result, or the errors.
  absl::StatusOr<ResourceMap> preview(const ResourceMap& current,
                                      const std::vector<ResourceConstSharedPtr>& upserts,
                                      const std::vector<ResourceKey>& deletes) const;

  // Writes `text` to `path` atomically (temp file in the same directory + rename).
  static absl::Status writeFileAtomically(const std::string& path, const std::string& text);

  const std::string& dir() const { return dir_; }

  // Replaces rename(2) in apply()'s commit (nullptr: back to rename(2)), so a test can make
  // one rename fail after every file was staged. Not thread-safe; tests only.
  static void setRenameForTest(int (*rename)(const char* from, const char* to));

 private:
  absl::Status recoverLocked();

  std::string dir_;
  size_t max_file_bytes_;
  std::mutex write_mutex_;
};

// Marks the origin of a resource that is not in a file yet ("new:request#2").
inline constexpr char kNewOriginPrefix[] = "new:";

// "clusters.yaml#2" -> "clusters.yaml" ("" for origins that are not files).
std::string originFile(absl::string_view origin);

}  // namespace portico::control_plane
