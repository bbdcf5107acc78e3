#pragma once

// The fuzz targets' invariant check: a violated invariant aborts, so libFuzzer keeps the input
// that broke it (ci/fuzz.sh greps for "invariant violated").

#include <cstdio>
#include <cstdlib>

namespace portico::fuzz {

inline void check(bool ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "invariant violated: %s\n", what);
    abort();
  }
}

}  // namespace portico::fuzz
