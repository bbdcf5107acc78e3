#pragma once

#include <string>

namespace portico::control_plane::cli {

// A unified-style line diff of `before` and `after` ("-" and "+" lines, " " for context),
// without hunk headers; "" when equal. Quadratic (LCS): for resource-sized texts.
std::string lineDiff(const std::string& before, const std::string& after);

}  // namespace portico::control_plane::cli
