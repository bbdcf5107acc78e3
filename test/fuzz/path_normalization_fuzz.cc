// libFuzzer target: arbitrary request targets through normalizePath() with every combination
// of its options.
//
// Input layout: byte 0 = options (bit 0 normalize, bit 1 merge_slashes, bits 2-3 the escaped
// slashes action), rest = the target.
//
// Beyond "no crash / no sanitizer report", every accepted result is checked: the query is as
// sent, a path stays a path ('/' first), normalising again changes nothing (and a redirect's
// Location is accepted as it is: no redirect loop), no dot segment is left after normalize,
// no "//" after merge_slashes, no '\\' after normalize (or after decoding an escaped slash,
// which normalises too), and a Location never starts with "//".

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

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Whether the path (before any '?') has %2F or %5C, escapes read left to right ("%252F" is
// "%25" then "2F").
bool hasEscapedSlash(absl::string_view target) {
  const absl::string_view path = target.substr(0, target.find('?'));
  for (size_t i = 0; i + 2 < path.size(); i++) {
    if (path[i] != '%' || hexValue(path[i + 1]) < 0 || hexValue(path[i + 2]) < 0) continue;
    const int c = hexValue(path[i + 1]) * 16 + hexValue(path[i + 2]);
    if (c == '/' || c == '\\') return true;
    i += 2;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using portico::http::EscapedSlashesAction;
  using portico::http::PathNormalizationResult;
  if (size < 1) return 0;
  portico::http::PathNormalizationOptions options;
  options.normalize = (data[0] & 1) != 0;
  options.merge_slashes = (data[0] & 2) != 0;
  options.escaped_slashes = static_cast<EscapedSlashesAction>((data[0] >> 2) & 3);
  const std::string original(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string target = original;
  const PathNormalizationResult result = portico::http::normalizePath(target, options);
  // Decoded slashes are normalised whatever normalize says (they make new segments).
  const bool decodes = options.escaped_slashes == EscapedSlashesAction::kUnescapeAndForward ||
                       options.escaped_slashes == EscapedSlashesAction::kUnescapeAndRedirect;
  const bool normalized = options.normalize || (decodes && hasEscapedSlash(original));
  if (result == PathNormalizationResult::kMalformed) {
    check(normalized, "refused as malformed although nothing was normalised");
    return 0;
  }
  if (result == PathNormalizationResult::kEscapedSlash) {
    check(options.escaped_slashes == EscapedSlashesAction::kRejectRequest,
          "refused an escaped slash without being asked to");
    return 0;
  }
  if (result == PathNormalizationResult::kRedirect) {
    check(options.escaped_slashes == EscapedSlashesAction::kUnescapeAndRedirect,
          "redirected without being asked to");
  }
  const size_t q_in = original.find('?'), q_out = target.find('?');
  check((q_in == std::string::npos) == (q_out == std::string::npos), "query appeared or went");
  if (q_in != std::string::npos) {
    check(original.substr(q_in) == target.substr(q_out), "query changed");
  }
  const absl::string_view path(target.data(), q_out == std::string::npos ? target.size() : q_out);
  const bool was_path = !original.empty() && original[0] == '/';
  if (!was_path) {
    check(target == original && result == PathNormalizationResult::kContinue,
          "a target that is not a path changed");
    return 0;
  }
  check(!path.empty() && path[0] == '/', "a path no longer starts with '/'");
  if (normalized) {
    check(!hasDotSegment(path), "a dot segment is left");
    check(!absl::StrContains(path, "\\"), "a backslash is left");
  }
  if (options.merge_slashes) check(!absl::StrContains(path, "//"), "\"//\" is left");
  std::string again = result == PathNormalizationResult::kRedirect
                          ? portico::http::normalizedPathRedirectLocation(target)
                          : target;
  if (result == PathNormalizationResult::kRedirect) {
    check(!absl::StartsWith(again, "//") && !absl::StartsWith(again, "/\\"),
          "a Location another host could be read from");
  }
  const std::string location = again;
  check(portico::http::normalizePath(again, options) == PathNormalizationResult::kContinue,
        "the result is refused or redirected again");
  check(again == location, "normalising twice changed the result");
  return 0;
}
