#include "source/control_plane/cli/flags.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace portico::control_plane::cli {

std::string Flags::get(const std::string& name, const std::string& fallback) const {
  auto it = values.find(name);
  return it == values.end() ? fallback : it->second;
}

absl::StatusOr<Flags> parseFlags(const std::vector<std::string>& args, const FlagSpec& spec) {
  Flags flags;
  for (size_t i = 0; i < args.size(); i++) {
    const std::string& a = args[i];
    if (a.size() < 2 || a[0] != '-' || a == "-") {
      flags.positional.push_back(a);
      continue;
    }
    std::string name = a.substr(absl::StartsWith(a, "--") ? 2 : 1);
    std::string value;
    bool has_value = false;
    size_t eq = name.find('=');
    if (eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    if (name == "h") name = "help";
    auto alias = spec.aliases.find(name);
    if (alias != spec.aliases.end()) name = alias->second;
    if (spec.switches.contains(name) || name == "help") {
      if (has_value) return absl::InvalidArgumentError(absl::StrCat("--", name, " takes no value"));
      flags.switches.insert(name);
      continue;
    }
    if (!spec.with_value.contains(name)) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag '", a, "'"));
    }
    if (!has_value) {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value"));
      }
      value = args[++i];
    }
    flags.values[name] = value;
  }
  return flags;
}

}  // namespace portico::control_plane::cli
