// The command line's grammar: global options, then a command and its own options, checked
// against one table (args.cc) so every command states what it takes. An unknown command or
// option, a missing or extra argument, or a bad value is refused with a message that names it
// (and suggests the nearest known name); nothing is silently ignored.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "fhir/status.h"

namespace countersign::cli {

struct Args {
  std::string command;                          // "" for none; "audit" keeps its subcommand
  std::vector<std::string> positional;          // after the command
  std::map<std::string, std::string> options;   // "--name" -> value (global and the command's)
  std::set<std::string> flags;                  // "--json", "--diff", ...

  bool Has(const std::string& flag) const { return flags.count(flag) > 0; }
  // The option's value; `fallback` when it was not given.
  std::string Opt(const std::string& name, const std::string& fallback = {}) const;
  bool Given(const std::string& name) const { return options.count(name) > 0; }
};

// Parses argv. kInvalid with the message to print (exit 1) on any usage error. "--name=value"
// and "--name value" are both accepted.
Result<Args> ParseArgs(int argc, const char* const* argv);

// A file the user named (a draft, an amendment): its bytes, or kInvalid "cannot read PATH:
// reason" (exit 2: the input is wrong, not the program).
Result<std::string> ReadInputFile(const std::string& path);

// A TCP port given on the command line: digits only, 0-65535.
Result<int> ParsePort(const std::string& text);

}  // namespace countersign::cli
