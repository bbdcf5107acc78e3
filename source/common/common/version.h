#pragma once

namespace portico {
inline constexpr char kVersion[] = "0.1.0";
}  // namespace portico
