#pragma once

// Command-line flags for portico-control's commands: "--name value", "--name=value", short
// aliases ("-f"), boolean switches, and positional arguments in order.

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace portico::control_plane::cli {

struct FlagSpec {
  std::set<std::string> with_value;            // names without dashes: "dir", "f"
  std::set<std::string> switches;              // "help", "dry-run"
  std::map<std::string, std::string> aliases;  // "f" -> "file"
};

struct Flags {
  std::map<std::string, std::string> values;
  std::set<std::string> switches;
  std::vector<std::string> positional;

  bool has(const std::string& name) const { return values.contains(name); }
  std::string get(const std::string& name, const std::string& fallback = "") const;
  bool on(const std::string& name) const { return switches.contains(name); }
};

// Unknown flags and missing values are errors naming the flag.
absl::StatusOr<Flags> parseFlags(const std::vector<std::string>& args, const FlagSpec& spec);

}  // namespace portico::control_plane::cli
