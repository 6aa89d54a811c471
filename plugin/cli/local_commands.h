// The commands that work on a config file rather than through the Api: serve, check-config and
// map. Each returns the process exit code and reports through the Reporter.
#pragma once

#include "plugin/cli/args.h"
#include "plugin/cli/output.h"

namespace countersign::cli {

// The config file the command line names: --config, else COUNTERSIGN_CONFIG ("" when neither).
std::string ConfigPath(const Args& args);

// serve: the REST daemon until SIGINT/SIGTERM; SIGHUP re-reads the API tokens.
int Serve(const Args& args, const Reporter& out);
// check-config FILE [--connect]: loads the config the way serve does, without side effects.
int CheckConfig(const Args& args, const Reporter& out);
// map FILE [--rules DIR]: the pending Bundle a draft maps to. Needs no store and no server: the
// rules come from --rules, else the config's mappings (--config), else the shipped rules.
int Map(const Args& args, const Reporter& out);

}  // namespace countersign::cli
