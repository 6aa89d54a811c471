// Time for the governance core: milliseconds since the Unix epoch (UTC), from an injectable
// clock so tests control expiry and ordering.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace countersign::core {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowMillis() const = 0;
};

// The system clock. Thread-safe.
Clock& SystemClock();

// A clock tests set and advance. Thread-safe.
class ManualClock : public Clock {
 public:
  explicit ManualClock(int64_t start_millis = 1'700'000'000'000) : now_(start_millis) {}
  int64_t NowMillis() const override { return now_.load(); }
  void Set(int64_t millis) { now_.store(millis); }
  void Advance(int64_t millis) { now_.fetch_add(millis); }

 private:
  std::atomic<int64_t> now_;
};

// FHIR instant with milliseconds, UTC: "2023-11-14T22:13:20.000Z".
std::string FormatInstant(int64_t millis);

}  // namespace countersign::core
