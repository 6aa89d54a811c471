#include "plugin/cli/args.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace countersign::cli {
namespace {

// What a command takes. `max_positional` -1: any number.
struct CommandSpec {
  const char* name;
  int min_positional;
  int max_positional;
  const char* operands;  // for messages: "ID FILE"
  std::vector<const char*> options;  // take a value
  std::vector<const char*> flags;
};

const std::vector<const char*> kGlobalOptions = {"--config", "--url", "--token"};
const std::vector<const char*> kGlobalFlags = {"--json", "--help"};

const std::vector<CommandSpec>& Commands() {
  static const std::vector<CommandSpec> kCommands = {
      {"help", 0, 0, "", {}, {}},
      {"serve", 0, 0, "", {"--port"}, {}},
      {"submit", 1, -1, "FILE|DIR...", {}, {}},
      {"list", 0, 0, "", {"--owner", "--status", "--patient", "--kind", "--limit", "--after"}, {}},
      {"show", 1, 1, "ID", {}, {"--diff"}},
      {"approve", 1, 1, "ID", {"--note", "--revision"}, {}},
      {"amend", 2, 2, "ID FILE", {"--note"}, {}},
      {"reject", 1, 1, "ID", {"--reason", "--text"}, {}},
      {"reassign", 1, 1, "ID", {"--owner", "--reason"}, {}},
      {"rebase", 1, 1, "ID", {}, {}},
      {"retry", 1, 1, "ID", {"--reason"}, {}},
      {"commit", 0, 0, "", {}, {}},
      {"audit", 1, 1, "verify|export", {"--out"}, {}},
      {"ledger", 0, 0, "", {}, {}},
      {"map", 1, 1, "FILE", {"--rules"}, {}},
      {"check-config", 0, 1, "FILE", {}, {"--connect"}},
  };
  return kCommands;
}

const CommandSpec* FindCommand(const std::string& name) {
  for (const auto& c : Commands()) {
    if (name == c.name) return &c;
  }
  return nullptr;
}

size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// " (did you mean X?)" for the nearest candidate within a third of the word, else "".
std::string Suggest(const std::string& word, const std::vector<const char*>& candidates) {
  const char* best = nullptr;
  size_t best_d = std::max<size_t>(2, word.size() / 3) + 1;
  for (const char* c : candidates) {
    size_t d = EditDistance(word, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  return best ? std::string(" (did you mean ") + best + "?)" : std::string();
}

bool In(const std::vector<const char*>& names, const std::string& s) {
  return std::any_of(names.begin(), names.end(), [&](const char* n) { return s == n; });
}

// A value shown in a message: bounded, so a pasted blob does not flood the terminal.
std::string Shown(const std::string& s) { return s.size() > 64 ? s.substr(0, 64) + "..." : s; }

}  // namespace

std::string Args::Opt(const std::string& name, const std::string& fallback) const {
  auto it = options.find(name);
  return it == options.end() ? fallback : it->second;
}

Result<Args> ParseArgs(int argc, const char* const* argv) {
  Args a;
  const CommandSpec* spec = nullptr;
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    if (s == "-h") s = "--help";
    if (s.size() > 1 && s[0] == '-') {
      std::string value;
      bool has_value = false;
      if (size_t eq = s.find('='); s.rfind("--", 0) == 0 && eq != std::string::npos) {
        value = s.substr(eq + 1);
        s = s.substr(0, eq);
        has_value = true;
      }
      std::vector<const char*> options = kGlobalOptions, flags = kGlobalFlags;
      if (spec) {
        options.insert(options.end(), spec->options.begin(), spec->options.end());
        flags.insert(flags.end(), spec->flags.begin(), spec->flags.end());
      }
      if (In(flags, s)) {
        if (has_value) return Status::Invalid(s + " takes no value");
        a.flags.insert(s);
        continue;
      }
      if (!In(options, s)) {
        std::vector<const char*> all = options;
        all.insert(all.end(), flags.begin(), flags.end());
        std::string where = spec ? std::string(" for ") + spec->name : std::string();
        std::string hint = Suggest(s, all);
        if (hint.empty() && !spec) {
          for (const auto& c : Commands()) {
            if (In(c.options, s) || In(c.flags, s)) {
              hint = std::string(" (") + s + " belongs after the command " + c.name + ")";
              break;
            }
          }
        }
        return Status::Invalid("unknown option " + Shown(s) + where + hint);
      }
      if (!has_value) {
        if (i + 1 >= argc) return Status::Invalid(s + " needs a value");
        value = argv[++i];
      }
      if (a.options.count(s)) return Status::Invalid(s + " given twice");
      a.options[s] = value;
      continue;
    }
    if (!spec) {
      spec = FindCommand(s);
      if (!spec) {
        std::vector<const char*> names;
        for (const auto& c : Commands()) names.push_back(c.name);
        return Status::Invalid("unknown command " + Shown(s) + Suggest(s, names));
      }
      a.command = s;
      continue;
    }
    a.positional.push_back(s);
  }
  if (!spec) return a;
  const int n = static_cast<int>(a.positional.size());
  std::string usage = std::string(spec->name) + (*spec->operands ? " " : "") + spec->operands;
  if (n < spec->min_positional) return Status::Invalid(usage + ": missing " + spec->operands);
  if (spec->max_positional >= 0 && n > spec->max_positional) {
    return Status::Invalid(usage + ": unexpected argument '" +
                           Shown(a.positional[static_cast<size_t>(spec->max_positional)]) + "'");
  }
  return a;
}

Result<std::string> ReadInputFile(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return Status::Invalid("cannot read " + path + ": a directory");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Invalid("cannot read " + path + ": " + std::strerror(errno));
  std::stringstream s;
  s << in.rdbuf();
  if (in.bad()) return Status::Invalid("cannot read " + path + ": read error");
  return s.str();
}

Result<int> ParsePort(const std::string& text) {
  int port = -1;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || port < 0 ||
      port > 65535) {
    return Status::Invalid("--port: expected a port number 0-65535, not '" + Shown(text) + "'");
  }
  return port;
}

}  // namespace countersign::cli
