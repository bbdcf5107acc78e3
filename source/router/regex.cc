#include "source/router/regex.h"

#include "absl/strings/str_cat.h"
#include "source/router/config_error.h"

namespace portico::router {

absl::StatusOr<std::unique_ptr<const RE2>> compileRegex(absl::string_view pattern,
                                                        bool case_sensitive,
                                                        absl::string_view field_path) {
  RE2::Options options;
  options.set_log_errors(false);  // the error goes back in the status instead
  options.set_case_sensitive(case_sensitive);
  // RE2's default budget is 8 MiB per pattern; a config holds thousands of them.
  options.set_max_mem(kRegexMaxMemBytes);
  auto re = std::make_unique<const RE2>(toPiece(pattern), options);
  if (!re->ok()) return fieldError(field_path, absl::StrCat("invalid RE2: ", re->error()));
  if (re->ProgramSize() > kRegexMaxProgramSize) {
    // As Envoy's max_program_size: a short pattern can compile to a huge program ("\pL{300}").
    return fieldError(field_path,
                      absl::StrCat("RE2 program size ", re->ProgramSize(), " is over the limit of ",
                                   kRegexMaxProgramSize, "; simplify the pattern"));
  }
  return re;
}

std::string requiredPrefix(const RE2& re) {
  // 64 bytes is plenty to key an index; longer literals are still verified by the full match.
  std::string min, max;
  if (!re.PossibleMatchRange(&min, &max, 64)) return "";
  size_t n = 0;
  while (n < min.size() && n < max.size() && min[n] == max[n]) ++n;
  min.resize(n);
  return min;
}

}  // namespace portico::router
