#pragma once

// portico-control's commands. Each takes the arguments after its name and returns the process
// exit code: 0 success; 1 rejected, invalid or different (diff); 2 usage error; 3 the server
// could not be reached.

#include <string>
#include <vector>

namespace portico::control_plane::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitUnreachable = 3;

using Args = std::vector<std::string>;

int serveCommand(const Args& args);
int applyCommand(const Args& args);
int getCommand(const Args& args);
int deleteCommand(const Args& args);
int diffCommand(const Args& args);
int validateCommand(const Args& args);
int statusCommand(const Args& args);

}  // namespace portico::control_plane::cli
