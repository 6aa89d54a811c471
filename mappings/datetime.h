// FHIR date/dateTime text: recognising it, ordering two instants, and minute arithmetic, without
// std::regex (it made validation the slowest step of mapping) and without the C library's
// timezone state (not thread-safe).
//
// Threading: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace countersign::mappings {

// FHIR dateTime: YYYY, YYYY-MM, YYYY-MM-DD, or YYYY-MM-DDThh:mm[:ss[.fff]](Z|+hh:mm|-hh:mm),
// with month 01-12, day valid for the month, hour < 24, minute and second < 60.
bool IsDateTime(std::string_view text);

// Seconds since 1970-01-01T00:00:00Z of a dateTime that has a time of day (fractions dropped);
// nullopt for dates without a time and anything that is not a dateTime.
std::optional<int64_t> EpochSeconds(std::string_view text);

// text + minutes, written with text's own UTC offset ("2026-12-03T09:00:00+01:00" + 30 ->
// "2026-12-03T09:30:00+01:00"); nullopt when text has no time of day.
std::optional<std::string> PlusMinutes(std::string_view text, int64_t minutes);

}  // namespace countersign::mappings
