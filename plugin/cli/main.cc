// countersign: the command line. See `countersign help`.
//
// Exit codes (stable, for scripts):
//   0 ok · 1 usage · 2 invalid input (400, 413, 415, 422) · 3 not authenticated / not allowed
//   (401, 403) · 4 not found · 5 conflict or illegal transition (409) · 6 server or network
//   unavailable · 7 configuration error · 8 audit chain broken · 10 internal error
#include "plugin/daemon/heap_tuning.h"

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <set>
#include <thread>

#include "plugin/cli/backend.h"
#include "plugin/cli/output.h"
#include "plugin/config/service.h"
#include "plugin/core/audit_chain.h"
#include "plugin/core/clock.h"
#include "plugin/daemon/daemon.h"

namespace countersign::cli {
namespace {

constexpr int kOk = 0, kUsage = 1, kInvalid = 2, kAuth = 3, kNotFound = 4, kConflict = 5,
              kUnavailable = 6, kConfig = 7, kBroken = 8, kInternal = 10;

const char* kHelp = R"(countersign — AI writes, clinicians decide.

usage: countersign [--config FILE | --url URL] [--token TOKEN] [--json] COMMAND ...

Where to act (one of):
  --config FILE    open the configured store directly (admin work; also COUNTERSIGN_CONFIG)
  --url URL        talk to a running daemon, e.g. http://127.0.0.1:8400 (also COUNTERSIGN_URL)
  --token TOKEN    the API token of the person or AI acting (also COUNTERSIGN_TOKEN)
  --json           print the JSON answer instead of tables

Commands:
  serve                          run the REST daemon (needs --config)
  submit FILE|DIR...             submit drafts (a directory: every *.json in it, with progress)
  list [--owner O] [--status S] [--patient P] [--kind K] [--limit N] [--after CURSOR]
  show ID [--diff]               one proposal; --diff compares with the FHIR server now
  approve ID [--note TEXT]
  amend ID FILE [--note TEXT]    FILE: an edited draft, or a JSON Patch on the pending Bundle
  reject ID --reason CODE [--text TEXT]
  reassign ID --owner OWNER --reason TEXT
  rebase ID                      carry a conflicted proposal onto the server's current version
  retry ID --reason TEXT         queue a failed commit again once its cause is fixed
  commit                         commit approved proposals now, then a Task mirror pass when
                                 task_mirror is on (needs --config)
  audit verify                   check the hash chain; exit 8 when broken
  audit export [--out FILE]      the trail as FHIR AuditEvent NDJSON
  ledger                         Provenance kept locally (server refused it)
  map FILE                       show the pending Bundle a draft maps to (needs --config)
  check-config FILE [--connect]  load a config the way the daemon does; name the first problem.
                                 --connect: also authenticate to the FHIR server (a SMART token)
                                 and show what its CapabilityStatement lets Countersign write
)";

int ExitFor(int http_status) {
  if (http_status >= 200 && http_status < 300) return kOk;
  switch (http_status) {
    case 401: case 403: return kAuth;
    case 404: return kNotFound;
    case 409: return kConflict;
    case 503: return kUnavailable;
    case 500: return kInternal;
    default: return http_status >= 400 && http_status < 500 ? kInvalid : kInternal;
  }
}

int ExitFor(const Status& s) {
  switch (s.kind()) {
    case ErrorKind::kOk: return kOk;
    case ErrorKind::kInvalid: case ErrorKind::kTooLarge: return kInvalid;
    case ErrorKind::kUnauthorized: case ErrorKind::kForbidden: return kAuth;
    case ErrorKind::kNotFound: case ErrorKind::kGone: return kNotFound;
    case ErrorKind::kConflict: case ErrorKind::kIllegalState: return kConflict;
    case ErrorKind::kUnavailable: case ErrorKind::kTimeout: case ErrorKind::kNetwork: return kUnavailable;
    default: return kInternal;
  }
}

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> options;  // --name value
  std::set<std::string> flags;                 // --json, --diff
  bool Has(const std::string& f) const { return flags.count(f) > 0; }
  std::string Opt(const std::string& name, const std::string& fallback = {}) const {
    auto it = options.find(name);
    return it == options.end() ? fallback : it->second;
  }
};

Result<Args> ParseArgs(int argc, char** argv) {
  static const std::set<std::string> kFlags = {"--json", "--diff", "--help", "--connect"};
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    if (s.rfind("--", 0) == 0) {
      if (kFlags.count(s)) {
        a.flags.insert(s);
      } else if (i + 1 < argc) {
        a.options[s] = argv[++i];
      } else {
        return Status::Invalid(s + " needs a value");
      }
    } else {
      a.positional.push_back(s);
    }
  }
  return a;
}

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IoError("cannot read " + path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class Cli {
 public:
  explicit Cli(Args args) : args_(std::move(args)) {
    token_ = args_.Opt("--token", Env("COUNTERSIGN_TOKEN"));
    json_ = args_.Has("--json");
  }

  int Run() {
    if (args_.positional.empty() || args_.Has("--help") || args_.positional[0] == "help") {
      std::cout << kHelp;
      return args_.positional.empty() && !args_.Has("--help") ? kUsage : kOk;
    }
    const std::string& cmd = args_.positional[0];
    if (cmd == "check-config") return CheckConfig();
    if (cmd == "serve") return Serve();
    if (int rc = Connect(); rc != kOk) return rc;
    if (cmd == "submit") return Submit();
    if (cmd == "list") return List();
    if (cmd == "show") return Show();
    if (cmd == "approve") return Decide("approve", Body({{"note", args_.Opt("--note")}}));
    if (cmd == "reject") {
      if (args_.Opt("--reason").empty()) return Usage("reject needs --reason CODE");
      return Decide("reject", Body({{"code", args_.Opt("--reason")}, {"text", args_.Opt("--text")}}));
    }
    if (cmd == "reassign") {
      if (args_.Opt("--owner").empty()) return Usage("reassign needs --owner OWNER");
      return Decide("reassign", Body({{"owner", args_.Opt("--owner")}, {"reason", args_.Opt("--reason")}}));
    }
    if (cmd == "rebase") return Decide("rebase", "{}");
    if (cmd == "retry") {
      if (args_.Opt("--reason").empty()) return Usage("retry needs --reason TEXT (what was fixed)");
      return Decide("retry", Body({{"reason", args_.Opt("--reason")}}));
    }
    if (cmd == "amend") return Amend();
    if (cmd == "audit") return Audit();
    if (cmd == "ledger") return Print(Send(Call("GET", "/provenance-ledger")));
    if (cmd == "commit") return Commit();
    if (cmd == "map") return Map();
    return Usage("unknown command " + cmd);
  }

 private:
  int Usage(const std::string& why) {
    std::cerr << "countersign: " << why << " (see countersign help)\n";
    return kUsage;
  }
  int Fail(const Status& s) {
    std::cerr << "countersign: " << s.ToString() << "\n";
    if (!s.operation_outcome().empty()) PrintOutcome(s.operation_outcome());
    return ExitFor(s);
  }

  int Connect() {
    std::string url = args_.Opt("--url", Env("COUNTERSIGN_URL"));
    std::string config = args_.Opt("--config", Env("COUNTERSIGN_CONFIG"));
    if (!url.empty()) {
      backend_ = MakeRemoteBackend(url);
      return kOk;
    }
    if (config.empty()) return Usage("give --config FILE or --url URL");
    auto local = MakeLocalBackend(config);
    if (!local.ok()) {
      std::cerr << "countersign: " << local.status().ToString() << "\n";
      return kConfig;
    }
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
    return backend_->Send(call);
  }

  // Prints an answer (JSON or via `human`), returns its exit code.
  int Print(const Result<Reply>& r, const std::function<void(const json::Value&)>& human = {}) {
    if (!r.ok()) return Fail(r.status());
    if (r->status >= 400) {
      std::cerr << "countersign: HTTP " << r->status << "\n";
      PrintOutcome(r->body);
      return ExitFor(r->status);
    }
    auto doc = json::Parse(r->body, 512);
    if (json_ || !human || !doc.ok()) {
      std::cout << (doc.ok() ? json::Pretty(*doc) : r->body) << "\n";
    } else {
      human(*doc);
    }
    return ExitFor(r->status);
  }

  int Submit() {
    std::vector<std::string> files;
    for (size_t i = 1; i < args_.positional.size(); ++i) {
      namespace fs = std::filesystem;
      const std::string& p = args_.positional[i];
      if (fs::is_directory(p)) {
        std::vector<std::string> in_dir;
        for (const auto& e : fs::directory_iterator(p)) {
          if (e.path().extension() == ".json") in_dir.push_back(e.path().string());
        }
        std::sort(in_dir.begin(), in_dir.end());
        files.insert(files.end(), in_dir.begin(), in_dir.end());
      } else {
        files.push_back(p);
      }
    }
    if (files.empty()) return Usage("submit needs FILE or DIR");
    Progress progress("submitting", files.size() > 1 ? files.size() : 0);
    int worst = kOk;
    size_t done = 0;
    for (const auto& f : files) {
      auto text = ReadFile(f);
      if (!text.ok()) {
        worst = std::max(worst, Fail(text.status()));
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

  int Show() {
    if (args_.positional.size() < 2) return Usage("show needs ID");
    Call c("GET", "/proposals/" + args_.positional[1]);
    if (args_.Has("--diff")) c.query["diff"] = "true";
    return Print(Send(c), [](const json::Value& p) { PrintProposal(p); });
  }

  int Decide(const std::string& action, std::string body) {
    if (args_.positional.size() < 2) return Usage(action + " needs ID");
    return Print(Send(Call("POST", "/proposals/" + args_.positional[1] + "/" + action, std::move(body))),
                 [&](const json::Value& p) {
                   std::cout << args_.positional[1] << ": "
                             << json::GetString(p, "status").value_or("") << "\n";
                 });
  }

  int Amend() {
    if (args_.positional.size() < 3) return Usage("amend needs ID FILE");
    auto text = ReadFile(args_.positional[2]);
    if (!text.ok()) return Fail(text.status());
    auto edit = json::Parse(*text, 128);
    if (!edit.ok()) return Fail(Status::Invalid(args_.positional[2] + ": " + edit.status().message()));
    json::Document body(rapidjson::kObjectType);
    auto& a = body.GetAllocator();
    json::Set(body, edit->IsArray() ? "bundle_patch" : "draft", json::Copy(*edit, a), a);
    if (!args_.Opt("--note").empty()) json::SetString(body, "note", args_.Opt("--note"), a);
    return Decide("amend", json::Stringify(body));
  }

  int Audit() {
    std::string sub = args_.positional.size() > 1 ? args_.positional[1] : "";
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
    if (sub == "export") {
      auto r = Send(Call("GET", "/audit/export"));
      if (!r.ok()) return Fail(r.status());
      if (r->status >= 400) {
        PrintOutcome(r->body);
        return ExitFor(r->status);
      }
      std::string out = args_.Opt("--out");
      size_t lines = static_cast<size_t>(std::count(r->body.begin(), r->body.end(), '\n'));
      if (out.empty()) {
        std::cout << r->body;
      } else {
        Progress progress("exporting", lines);
        std::ofstream f(out, std::ios::binary);
        size_t done = 0, start = 0;
        while (start < r->body.size()) {
          size_t end = r->body.find('\n', start);
          if (end == std::string::npos) end = r->body.size() - 1;
          f.write(r->body.data() + start, static_cast<std::streamsize>(end - start + 1));
          start = end + 1;
          if (++done % 64 == 0 || start >= r->body.size()) progress.Step(done);
        }
        progress.Done();
        if (!f) return Fail(Status::IoError("cannot write " + out));
        std::cerr << "wrote " << lines << " AuditEvent resources to " << out << "\n";
      }
      return kOk;
    }
    return Usage("audit verify | audit export [--out FILE]");
  }

  int Commit() {
    config::Service* s = backend_->service();
    if (!s) return Usage("commit runs locally: give --config FILE (the daemon commits by itself)");
    int committed = 0, other = 0;
    for (int round = 0; round < 1000; ++round) {
      auto report = s->commit_engine().RunOnce();
      if (!report.ok()) return Fail(report.status());
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
      if (!report.ok()) return Fail(report.status());
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

  int Map() {
    config::Service* s = backend_->service();
    if (!s) return Usage("map runs locally: give --config FILE");
    if (args_.positional.size() < 2) return Usage("map needs FILE");
    auto text = ReadFile(args_.positional[1]);
    if (!text.ok()) return Fail(text.status());
    mappings::MapContext ctx;
    ctx.proposal_id = "preview";
    ctx.recorded_time = core::FormatInstant(core::SystemClock().NowMillis());
    auto mapped = s->mapper().Map(*text, ctx);
    if (!mapped.ok()) return Fail(mapped.status());
    std::cout << json::Pretty(mapped->bundle) << "\n";
    return kOk;
  }

  int CheckConfig() {
    std::string path = args_.positional.size() > 1 ? args_.positional[1]
                                                   : args_.Opt("--config", Env("COUNTERSIGN_CONFIG"));
    if (path.empty()) return Usage("check-config needs FILE");
    auto cfg = config::Config::Load(path);
    if (!cfg.ok()) {
      std::cerr << "countersign: " << cfg.status().message() << "\n";
      return kConfig;
    }
    auto service = config::Service::Open(*cfg);
    if (!service.ok()) {
      std::cerr << "countersign: " << path << ": " << service.status().message() << "\n";
      return kConfig;
    }
    std::cout << path << ": ok (" << (*service)->principals().size() << " principals, "
              << cfg->tokens.size() << " tokens, FHIR server " << cfg->fhir.base_url << ")\n";
    if (!args_.Has("--connect")) return kOk;
    return ShowServer((*service)->client());
  }

  // What an integrator wants to know before the first commit: does the auth work, and what
  // will the write plan be on this server.
  int ShowServer(fhir::FhirClient& client) {
    auto auth = client.Authenticate();
    if (!auth.ok()) {
      std::cerr << "countersign: FHIR server auth: " << auth.status().ToString() << "\n";
      return ExitFor(auth.status());
    }
    auto caps = client.GetCapabilities(/*refresh=*/true);
    if (!caps.ok()) {
      std::cerr << "countersign: FHIR server: " << caps.status().ToString() << "\n";
      return ExitFor(caps.status());
    }
    const char* auth_line = *auth == fhir::AuthMethod::kSmartBackend
                                ? "SMART Backend Services token obtained"
                            : *auth == fhir::AuthMethod::kStatic
                                ? "static credentials (checked on first use)"
                                : "none";
    auto yes = [](bool b) { return b ? "yes" : "no"; };
    std::cout << "FHIR server: " << (caps->software.empty() ? "unnamed" : caps->software)
              << ", FHIR " << caps->fhir_version << "; auth: " << auth_line << "\n"
              << "  commits: "
              << (caps->transaction ? "one transaction each (Provenance inside)"
                                    : "ordered per-resource writes (no transactions declared)")
              << "\n";
    for (const char* type : {"DocumentReference", "Appointment", "Communication",
                             "CommunicationRequest", "Provenance", "Device", "Task"}) {
      std::cout << "  " << type << ": create " << yes(caps->CanCreate(type))
                << ", conditional create " << yes(caps->ConditionalCreate(type)) << ", update "
                << yes(caps->CanUpdate(type)) << ", If-Match honoured "
                << yes(caps->VersionedUpdate(type)) << "\n";
    }
    if (!caps->CanCreate("Provenance")) {
      std::cout << "  Provenance cannot be written here: it is kept in the local ledger\n";
    }
    return kOk;
  }

  int Serve() {
    std::string path = args_.Opt("--config", Env("COUNTERSIGN_CONFIG"));
    if (path.empty()) return Usage("serve needs --config FILE");
    auto cfg = config::Config::Load(path);
    if (!cfg.ok()) {
      std::cerr << "countersign: " << cfg.status().message() << "\n";
      return kConfig;
    }
    auto service = config::Service::Open(*cfg);
    if (!service.ok()) {
      std::cerr << "countersign: " << service.status().ToString() << "\n";
      return kConfig;
    }
    config::Service* s = service->get();
    daemon::DaemonParts parts;
    parts.coordinator = &s->coordinator();
    parts.store = &s->store();
    parts.policy = &s->policy();
    parts.authenticate = [s](std::string_view token) { return s->Authenticate(token); };
    parts.read_current = [s](const std::string& ref) { return s->ReadCurrent(ref); };
    parts.commit_engine = &s->commit_engine();
    parts.task_mirror = s->task_mirror();
    daemon::DaemonOptions options;
    options.listen.address = cfg->listen_host;
    options.listen.port = cfg->listen_port;
    if (!args_.Opt("--port").empty()) options.listen.port = std::atoi(args_.Opt("--port").c_str());
    options.listen.threads = cfg->listen_threads;
    options.listen.max_body_bytes = cfg->max_body_bytes;
    options.limits.max_body_bytes = cfg->max_body_bytes;
    options.limits.max_json_depth = cfg->max_json_depth;
    options.worker_enabled = cfg->worker_enabled;
    options.worker_poll_ms = cfg->worker_poll_ms;
    auto daemon = daemon::Daemon::Start(std::move(parts), options);
    if (!daemon.ok()) return Fail(daemon.status());
    // The postgres conninfo is not printed: it names hosts and users, and logs travel.
    const std::string store =
        cfg->store_backend == "postgres" ? std::string("postgres") : cfg->store_path;
    std::cout << "countersign: serving on " << (*daemon)->url() << " (store " << store
              << ", FHIR server " << cfg->fhir.base_url << ")" << std::endl;
    static volatile std::sig_atomic_t stop = 0;
    std::signal(SIGINT, [](int) { stop = 1; });
    std::signal(SIGTERM, [](int) { stop = 1; });
    while (!stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    (*daemon)->Stop();
    std::cout << "countersign: stopped" << std::endl;
    return kOk;
  }

  Args args_;
  std::string token_;
  bool json_ = false;
  std::unique_ptr<Backend> backend_;
};

}  // namespace
}  // namespace countersign::cli

int main(int argc, char** argv) {
  countersign::TuneHeapForRequests();  // plugin/daemon/heap_tuning.h
  try {
    auto args = countersign::cli::ParseArgs(argc, argv);
    if (!args.ok()) {
      std::cerr << "countersign: " << args.status().message() << "\n";
      return 1;
    }
    return countersign::cli::Cli(std::move(args).value()).Run();
  } catch (const std::exception& e) {
    std::cerr << "countersign: internal error: " << e.what() << "\n";
    return 10;
  }
}
