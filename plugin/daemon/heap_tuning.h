// Process-wide allocator settings for a process that serves requests (the daemon, the CLI, and
// the benchmarks that measure them, so they measure what runs).
//
// Why: every request builds and drops RapidJSON documents (64 KiB chunks); by default glibc
// returns the top of the heap to the kernel as soon as such a chunk is freed and faults it back
// in for the next request. brk + page faults then dominate the profile (bench/map_bench.cc).
// Keeping up to 64 MiB of freed heap (and growing it 16 MiB at a time) removes that churn.
//
// Call once, early in main, before threads start. Not thread-safe; glibc only.
#pragma once

#include <malloc.h>

namespace countersign {

inline void TuneHeapForRequests() {
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  mallopt(M_TOP_PAD, 16 << 20);
}

}  // namespace countersign
