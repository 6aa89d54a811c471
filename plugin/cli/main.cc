// countersign: the command line. See `countersign help`.
//
// Exit codes (stable, for scripts; plugin/cli/output.h):
//   0 ok · 1 usage · 2 invalid input (400, 413, 415, 422; a file that cannot be read) · 3 not
//   authenticated / not allowed (401, 403) · 4 not found · 5 conflict or illegal transition (409)
//   · 6 server or network unavailable · 7 configuration error · 8 audit chain broken · 10 internal
//   error. With --json every error is also printed on stdout as a FHIR OperationOutcome.
#include "plugin/daemon/heap_tuning.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <set>

#include "plugin/cli/args.h"
#include "plugin/cli/backend.h"
#include "plugin/cli/local_commands.h"
#include "plugin/cli/output.h"
#include "plugin/config/service.h"

namespace countersign::cli {
namespace {

using namespace exit_code;

const char* kHelp = R"(countersign — AI writes, clinicians decide.

usage: countersign [--config FILE | --url URL] [--token TOKEN] [--json] COMMAND ...

Where to act (one of):
  --config FILE    open the configured store directly (also COUNTERSIGN_CONFIG)
  --url URL        talk to a running daemon, e.g. http://127.0.0.1:8400 (also COUNTERSIGN_URL)
  --token TOKEN    the API token of the person or AI acting (also COUNTERSIGN_TOKEN)
  --json           print the JSON answer instead of tables; errors as an OperationOutcome
                   on stdout (the human line still goes to stderr)

With --config and no token, audit and ledger run as the local operator ("operator:<user>",
admin role): whoever can open the store can read it. The other commands act for a configured
person or AI and need --token (commit and map need none).

Commands:
  serve [--port N]               run the REST daemon (needs --config); SIGHUP re-reads the
                                 config's API tokens
  submit FILE|DIR...             submit drafts (a directory: every *.json in it, with progress)
  list [--owner O] [--status S] [--patient P] [--kind K] [--limit N] [--after CURSOR]
  show ID [--diff]               one proposal; --diff compares with the FHIR server now
  approve ID [--revision N] [--note TEXT]
                                 N: the revision you reviewed (409 when it was amended since);
                                 without it, the current one is read and shown, then approved
  amend ID FILE [--note TEXT]    FILE: an edited draft, or a JSON Patch on the pending Bundle
  reject ID --reason CODE [--text TEXT]
  reassign ID --owner OWNER --reason TEXT
  rebase ID                      carry a conflicted proposal onto the server's current version
  retry ID --reason TEXT         queue a failed commit again once its cause is fixed
  commit                         commit approved proposals now, then a Task mirror pass when
                                 task_mirror is on (needs --config)
  audit verify                   check the hash chain; exit 8 when broken
  audit export [--out FILE]      the trail as FHIR AuditEvent NDJSON (FILE is created 0600)
  ledger                         Provenance kept locally (server refused it)
  map FILE [--rules DIR]         the pending Bundle a draft maps to; a dry run that needs no
                                 store or server. Rules: --rules, else the --config's, else
                                 the shipped ones
  check-config FILE [--connect]  load a config the way the daemon does, with no side effects;
                                 name the first problem. --connect: also authenticate to the
                                 FHIR server and show what its CapabilityStatement allows
)";

// Commands the local operator may run without a token: the audit trail and the ledger (the
// export is itself audited under the operator's name). Proposal commands act for a configured
// principal: the coordinator trusts only the principal directory.
bool OperatorCommand(const std::string& cmd) {
  return cmd == "audit" || cmd == "ledger";
}

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

class Cli {
 public:
  explicit Cli(Args args) : args_(std::move(args)), out_(args_.Has("--json")) {
    token_ = args_.Opt("--token", Env("COUNTERSIGN_TOKEN"));
  }

  int Run() {
    const std::string& cmd = args_.command;
    if (cmd.empty() || cmd == "help" || args_.Has("--help")) {
      std::cout << kHelp;
      return cmd.empty() && !args_.Has("--help") ? kUsage : kOk;
    }
    if (cmd == "check-config") return CheckConfig(args_, out_);
    if (cmd == "serve") return Serve(args_, out_);
    if (cmd == "map") return Map(args_, out_);
    if (int rc = Connect(); rc != kOk) return rc;
    if (backend_->service() && token_.empty() && !OperatorCommand(cmd) && cmd != "commit") {
      return out_.Fail(Status::Unauthorized(
          cmd + " records who acted: give --token TOKEN (without one, --config acts as the "
                "local operator only for audit, ledger and commit)"));
    }
    if (cmd == "submit") return Submit();
    if (cmd == "list") return List();
    if (cmd == "show") return Show();
    if (cmd == "approve") return Approve();
    if (cmd == "reject") {
      if (args_.Opt("--reason").empty()) return out_.Usage("reject needs --reason CODE");
      return Decide("reject", Body({{"code", args_.Opt("--reason")}, {"text", args_.Opt("--text")}}));
    }
    if (cmd == "reassign") {
      if (args_.Opt("--owner").empty()) return out_.Usage("reassign needs --owner OWNER");
      return Decide("reassign", Body({{"owner", args_.Opt("--owner")}, {"reason", args_.Opt("--reason")}}));
    }
    if (cmd == "rebase") return Decide("rebase", "{}");
    if (cmd == "retry") {
      if (args_.Opt("--reason").empty()) return out_.Usage("retry needs --reason TEXT (what was fixed)");
      return Decide("retry", Body({{"reason", args_.Opt("--reason")}}));
    }
    if (cmd == "amend") return Amend();
    if (cmd == "audit") return Audit();
    if (cmd == "ledger") return Print(Send(Call("GET", "/provenance-ledger")));
    if (cmd == "commit") return Commit();
    return out_.Usage("unknown command " + cmd);  // ParseArgs knows every command: not reached
  }

 private:
  // --url or --config: the command line's choice wins over the environment's; two explicit
  // choices, or two from the environment, are refused rather than one silently ignored.
  int Connect() {
    const bool url_given = args_.Given("--url"), config_given = args_.Given("--config");
    if (url_given && config_given) return out_.Usage("give --config FILE or --url URL, not both");
    std::string url = url_given ? args_.Opt("--url") : config_given ? "" : Env("COUNTERSIGN_URL");
    std::string config = config_given ? args_.Opt("--config") : url_given ? "" : Env("COUNTERSIGN_CONFIG");
    if (!url.empty() && !config.empty()) {
      return out_.Usage("COUNTERSIGN_URL and COUNTERSIGN_CONFIG are both set: give --url or --config");
    }
    if (!url.empty()) {
      if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
        return out_.Usage("--url: expected http://HOST:PORT, not '" + url.substr(0, 64) + "'");
      }
      backend_ = MakeRemoteBackend(url);
      return kOk;
    }
    if (config.empty()) return out_.Usage(args_.command + " needs --config FILE or --url URL");
    auto local = MakeLocalBackend(config);
    if (!local.ok()) return out_.FailWith(kConfig, local.status());
    backend_ = std::move(local).value();
    return kOk;
  }

  static std::string Body(std::initializer_list<std::pair<const char*, std::string>> fields) {
    json::Document d(rapidjson::kObjectType);
    for (const auto& [k, v] : fields) {
      if (!v.empty()) json::SetString(d, k, v, d.GetAllocator());
    }
    return json::Stringify(d);
  }

  Result<Reply> Send(Call call) {
    call.token = token_;
    call.as_operator = OperatorCommand(args_.command);
    return backend_->Send(call);
  }

  // Prints an answer (JSON or via `human`), returns its exit code.
  int Print(const Result<Reply>& r, const std::function<void(const json::Value&)>& human = {}) {
    if (!r.ok()) return out_.Fail(r.status());
    if (r->status >= 400) return out_.FailHttp(r->status, r->body);
    auto doc = json::Parse(r->body, 512);
    if (out_.json() || !human || !doc.ok()) {
      std::cout << (doc.ok() ? json::Pretty(*doc) : r->body) << "\n";
    } else {
      human(*doc);
    }
    return ExitFor(r->status);
  }

  int Submit() {
    namespace fs = std::filesystem;
    std::vector<std::string> files;
    for (const std::string& p : args_.positional) {
      std::error_code ec;
      if (fs::is_directory(p, ec)) {
        std::vector<std::string> in_dir;
        for (const auto& e : fs::directory_iterator(p, ec)) {
          if (e.path().extension() == ".json") in_dir.push_back(e.path().string());
        }
        if (ec) return out_.Fail(Status::Invalid("cannot read " + p + ": " + ec.message()));
        std::sort(in_dir.begin(), in_dir.end());
        if (in_dir.empty()) return out_.Fail(Status::Invalid(p + ": no *.json drafts in it"));
        files.insert(files.end(), in_dir.begin(), in_dir.end());
      } else if (!fs::exists(p, ec)) {
        // Checked before anything is sent: a typo in the third name must not leave two of
        // three drafts submitted.
        return out_.Fail(Status::Invalid("cannot read " + p + ": no such file"));
      } else {
        files.push_back(p);
      }
    }
    Progress progress("submitting", files.size() > 1 ? files.size() : 0);
    int worst = kOk;
    size_t done = 0;
    for (const auto& f : files) {
      auto text = ReadInputFile(f);
      if (!text.ok()) {
        worst = std::max(worst, out_.Fail(text.status()));
        continue;
      }
      auto r = Send(Call("POST", "/drafts", *text));
      progress.Step(++done);
      int rc = Print(r, [&](const json::Value& p) {
        std::cout << f << ": " << json::GetString(p, "id").value_or("") << " "
                  << json::GetString(p, "status").value_or("") << " owner "
                  << json::GetString(p, "owner").value_or("") << "\n";
      });
      if (rc != kOk) std::cerr << "  (" << f << ")\n";
      worst = std::max(worst, rc);
    }
    progress.Done();
    return worst;
  }

  int List() {
    Call c("GET", "/proposals");
    for (const char* name : {"owner", "status", "patient", "kind", "limit", "after"}) {
      std::string v = args_.Opt(std::string("--") + name);
      if (!v.empty()) c.query[name] = v;
    }
    return Print(Send(c), [](const json::Value& page) { PrintProposalTable(page); });
  }

  const std::string& Id() const { return args_.positional[0]; }

  int Show() {
    Call c("GET", "/proposals/" + Id());
    if (args_.Has("--diff")) c.query["diff"] = "true";
    return Print(Send(c), [](const json::Value& p) { PrintProposal(p); });
  }

  int Decide(const std::string& action, std::string body) {
    return Print(Send(Call("POST", "/proposals/" + Id() + "/" + action, std::move(body))),
                 [&](const json::Value& p) {
                   std::cout << Id() << ": " << json::GetString(p, "status").value_or("") << "\n";
                 });
  }

  // approve ID [--revision N] [--note TEXT]: approves the revision the person reviewed;
  // without --revision the current one is read, shown, and that one is approved.
  int Approve() {
    std::string revision = args_.Opt("--revision");
    if (revision.empty()) {
      auto shown = Send(Call("GET", "/proposals/" + Id()));
      if (!shown.ok() || shown->status >= 400) return Print(shown);
      auto p = json::Parse(shown->body, 512);
      auto n = p.ok() ? json::GetInt(*p, "revision") : std::nullopt;
      if (!n) return out_.Fail(Status::Internal("the proposal has no revision number"));
      revision = std::to_string(*n);
      std::cerr << "approving revision " << revision << " of " << Id() << " ("
                << json::GetString(*p, "kind").value_or("") << " for "
                << json::GetString(*p, "patient").value_or("") << ", owner "
                << json::GetString(*p, "owner").value_or("") << ")\n";
    } else if (revision.find_first_not_of("0123456789") != std::string::npos || revision.size() > 15) {
      return out_.Usage("--revision takes the revision number shown by `show`");
    }
    json::Document body(rapidjson::kObjectType);
    auto& a = body.GetAllocator();
    json::Set(body, "revision", json::Value(static_cast<int64_t>(std::stoll(revision))), a);
    if (!args_.Opt("--note").empty()) json::SetString(body, "note", args_.Opt("--note"), a);
    return Decide("approve", json::Stringify(body));
  }

  int Amend() {
    const std::string& file = args_.positional[1];
    auto text = ReadInputFile(file);
    if (!text.ok()) return out_.Fail(text.status());
    auto edit = json::Parse(*text, 128);
    if (!edit.ok()) return out_.Fail(Status::Invalid(file + ": " + edit.status().message()));
    json::Document body(rapidjson::kObjectType);
    auto& a = body.GetAllocator();
    json::Set(body, edit->IsArray() ? "bundle_patch" : "draft", json::Copy(*edit, a), a);
    if (!args_.Opt("--note").empty()) json::SetString(body, "note", args_.Opt("--note"), a);
    return Decide("amend", json::Stringify(body));
  }

  int Audit() {
    const std::string& sub = args_.positional[0];
    if (sub != "verify" && sub != "export") return out_.Usage("audit verify | audit export [--out FILE]");
    if (sub == "verify" && args_.Given("--out")) return out_.Usage("--out goes with audit export");
    if (sub == "verify") {
      auto r = Send(Call("GET", "/audit/verify"));
      int rc = Print(r, [](const json::Value& v) {
        bool ok = json::GetBool(v, "ok").value_or(false);
        std::cout << (ok ? "audit chain intact" : "AUDIT CHAIN BROKEN") << ": "
                  << json::Stringify(v) << "\n";
      });
      if (rc == kOk && r.ok()) {
        auto v = json::Parse(r->body);
        if (v.ok() && !json::GetBool(*v, "ok").value_or(false)) return kBroken;
      }
      return rc;
    }
    auto r = Send(Call("GET", "/audit/export"));
    if (!r.ok()) return out_.Fail(r.status());
    if (r->status >= 400) return out_.FailHttp(r->status, r->body);
    std::string path = args_.Opt("--out");
    size_t lines = static_cast<size_t>(std::count(r->body.begin(), r->body.end(), '\n'));
    if (path.empty()) {
      std::cout << r->body;
      return kOk;
    }
    // The trail names patients: the file is the operator's alone, like the store.
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return out_.Fail(Status::Invalid("cannot write " + path + ": " + std::strerror(errno)));
    Progress progress("exporting", lines);
    size_t done = 0, start = 0;
    bool ok = true;
    while (ok && start < r->body.size()) {
      size_t end = r->body.find('\n', start);
      if (end == std::string::npos) end = r->body.size() - 1;
      size_t n = end - start + 1;
      ok = write(fd, r->body.data() + start, n) == static_cast<ssize_t>(n);
      start = end + 1;
      if (++done % 64 == 0 || start >= r->body.size()) progress.Step(done);
    }
    progress.Done();
    if (close(fd) != 0) ok = false;
    if (!ok) return out_.Fail(Status::IoError("cannot write " + path + ": " + std::strerror(errno)));
    std::cerr << "wrote " << lines << " AuditEvent resources to " << path << "\n";
    return kOk;
  }

  int Commit() {
    config::Service* s = backend_->service();
    if (!s) return out_.Usage("commit runs locally: give --config FILE (the daemon commits by itself)");
    int committed = 0, other = 0;
    for (int round = 0; round < 1000; ++round) {
      auto report = s->commit_engine().RunOnce();
      if (!report.ok()) return out_.Fail(report.status());
      if (report->claimed == 0) break;
      for (const auto& o : report->outcomes) {
        std::cout << o.proposal_id << ": " << o.status << " — " << o.detail << "\n";
        (o.status == "committed" ? committed : other)++;
      }
    }
    std::cout << committed << " committed, " << other << " not (see above)\n";
    int code = other == 0 ? kOk : kConflict;
    if (commit::TaskMirror* mirror = s->task_mirror()) {
      int mirrored = MirrorTasks(*mirror);
      if (mirrored != kOk) return mirrored;
    }
    return code;
  }

  // Task mirror passes until it has caught up (or a transient failure stopped it: the next
  // run retries). A mirror the server refuses fails the command with that error.
  int MirrorTasks(commit::TaskMirror& mirror) {
    int mirrored = 0, refused = 0;
    std::string stopped;
    for (int round = 0; round < 1000; ++round) {
      auto report = mirror.RunOnce();
      if (!report.ok()) return out_.Fail(report.status());
      mirrored += report->mirrored;
      refused += report->refused;
      for (const auto& o : report->outcomes) {
        if (o.status == "refused") {
          std::cout << "Task for " << o.proposal_id << " refused — " << o.detail << "\n";
        }
        if (o.status == "retry-later") stopped = o.detail;
      }
      if (report->caught_up || report->stalled) break;
    }
    std::cout << "task mirror: " << mirrored << " Task(s) written, " << refused << " refused"
              << (stopped.empty() ? "" : ", stopped for now: " + stopped) << "\n";
    return kOk;
  }

  Args args_;
  Reporter out_;
  std::string token_;
  std::unique_ptr<Backend> backend_;
};

}  // namespace
}  // namespace countersign::cli

int main(int argc, char** argv) {
  countersign::TuneHeapForRequests();  // plugin/daemon/heap_tuning.h
  // Before the arguments are understood, --json is looked for literally so a usage error is
  // machine-readable too.
  bool json = false;
  for (int i = 1; i < argc; ++i) json = json || std::strcmp(argv[i], "--json") == 0;
  countersign::cli::Reporter out(json);
  try {
    auto args = countersign::cli::ParseArgs(argc, argv);
    if (!args.ok()) return out.Usage(args.status().message());
    return countersign::cli::Cli(std::move(args).value()).Run();
  } catch (const std::exception& e) {
    return out.FailWith(countersign::cli::exit_code::kInternal,
                        countersign::Status::Internal(std::string("internal error: ") + e.what()));
  }
}
