// libFuzzer target: arbitrary request targets through normalizePath() with every combination
// of its two options.
//
// Input layout: byte 0 = options (bit 0 normalize, bit 1 merge_slashes), rest = the target.
//
// Beyond "no crash / no sanitizer report", every accepted result is checked: the query is as
// sent, a path stays a path ('/' first), normalising again changes nothing, no dot segment is
// left after normalize, and no "//" after merge_slashes.

#include <cstdint>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "source/common/http/path_normalization.h"
#include "test/fuzz/fuzz_check.h"

namespace {

using portico::fuzz::check;

bool hasDotSegment(absl::string_view path) {
  return absl::StrContains(path, "/./") || absl::StrContains(path, "/../") ||
         absl::EndsWith(path, "/.") || absl::EndsWith(path, "/..");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const bool normalize = (data[0] & 1) != 0;
  const bool merge_slashes = (data[0] & 2) != 0;
  const std::string original(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string target = original;
  if (!portico::http::normalizePath(target, normalize, merge_slashes)) {
    check(normalize, "refused although only merge_slashes was asked");
    return 0;
  }
  const size_t q_in = original.find('?'), q_out = target.find('?');
  check((q_in == std::string::npos) == (q_out == std::string::npos), "query appeared or went");
  if (q_in != std::string::npos) {
    check(original.substr(q_in) == target.substr(q_out), "query changed");
  }
  const absl::string_view path(target.data(), q_out == std::string::npos ? target.size() : q_out);
  const bool was_path = !original.empty() && original[0] == '/';
  if (!was_path) {
    check(target == original, "a target that is not a path changed");
    return 0;
  }
  check(!path.empty() && path[0] == '/', "a path no longer starts with '/'");
  if (normalize) check(!hasDotSegment(path), "a dot segment is left");
  if (merge_slashes) check(!absl::StrContains(path, "//"), "\"//\" is left");
  std::string again = target;
  check(portico::http::normalizePath(again, normalize, merge_slashes), "result refused");
  check(again == target, "normalising twice changed the result");
  return 0;
}
