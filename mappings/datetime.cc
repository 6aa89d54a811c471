#include "mappings/datetime.h"

#include <cctype>
#include <cstdio>

namespace countersign::mappings {
namespace {

struct Parsed {
  int year = 0, month = 1, day = 1, hour = 0, minute = 0, second = 0;
  bool has_time = false;
  int offset_minutes = 0;   // east of UTC
  std::string_view zone;    // "Z" or "+hh:mm" as written
};

bool Num(std::string_view s, size_t at, size_t n, int* out) {
  if (at + n > s.size()) return false;
  int v = 0;
  for (size_t i = at; i < at + n; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysIn(int y, int m) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian).
int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, int* m, int* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  *d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  *m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

std::optional<Parsed> Parse(std::string_view s) {
  Parsed p;
  if (!Num(s, 0, 4, &p.year)) return std::nullopt;
  if (s.size() == 4) return p;
  if (s.size() < 7 || s[4] != '-' || !Num(s, 5, 2, &p.month) || p.month < 1 || p.month > 12) {
    return std::nullopt;
  }
  if (s.size() == 7) return p;
  if (s.size() < 10 || s[7] != '-' || !Num(s, 8, 2, &p.day) || p.day < 1 ||
      p.day > DaysIn(p.year, p.month)) {
    return std::nullopt;
  }
  if (s.size() == 10) return p;
  if (s.size() < 16 || s[10] != 'T' || !Num(s, 11, 2, &p.hour) || s[13] != ':' ||
      !Num(s, 14, 2, &p.minute) || p.hour > 23 || p.minute > 59) {
    return std::nullopt;
  }
  p.has_time = true;
  size_t i = 16;
  if (i < s.size() && s[i] == ':') {
    if (!Num(s, i + 1, 2, &p.second) || p.second > 59) return std::nullopt;
    i += 3;
    if (i < s.size() && s[i] == '.') {
      size_t start = ++i;
      while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
      if (i == start || i - start > 9) return std::nullopt;
    }
  }
  p.zone = s.substr(i);
  if (p.zone == "Z") return p;
  int oh = 0, om = 0;
  if (p.zone.size() == 6 && (p.zone[0] == '+' || p.zone[0] == '-') && Num(p.zone, 1, 2, &oh) &&
      p.zone[3] == ':' && Num(p.zone, 4, 2, &om) && oh <= 14 && om <= 59) {
    p.offset_minutes = (p.zone[0] == '-' ? -1 : 1) * (oh * 60 + om);
    return p;
  }
  return std::nullopt;
}

int64_t LocalSeconds(const Parsed& p) {
  return DaysFromCivil(p.year, p.month, p.day) * 86400 + p.hour * 3600 + p.minute * 60 + p.second;
}

}  // namespace

bool IsDateTime(std::string_view text) { return Parse(text).has_value(); }

std::optional<int64_t> EpochSeconds(std::string_view text) {
  auto p = Parse(text);
  if (!p || !p->has_time) return std::nullopt;
  return LocalSeconds(*p) - int64_t{p->offset_minutes} * 60;
}

std::optional<std::string> PlusMinutes(std::string_view text, int64_t minutes) {
  auto p = Parse(text);
  if (!p || !p->has_time) return std::nullopt;
  int64_t local = LocalSeconds(*p) + minutes * 60;
  int64_t days = local >= 0 ? local / 86400 : (local - 86399) / 86400;
  int64_t rest = local - days * 86400;
  int64_t y = 0;
  int m = 0, d = 0;
  CivilFromDays(days, &y, &m, &d);
  if (y < 0 || y > 9999) return std::nullopt;
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d", static_cast<int>(y), m, d,
                static_cast<int>(rest / 3600), static_cast<int>(rest / 60 % 60),
                static_cast<int>(rest % 60));
  return std::string(buf) + std::string(p->zone);
}

}  // namespace countersign::mappings
