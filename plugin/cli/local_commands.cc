#include "plugin/cli/local_commands.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <thread>

#include "plugin/config/service.h"
#include "plugin/core/clock.h"
#include "plugin/daemon/daemon.h"

namespace countersign::cli {
namespace {

using namespace exit_code;
namespace fs = std::filesystem;

volatile std::sig_atomic_t g_stop = 0;
volatile std::sig_atomic_t g_reload = 0;
extern "C" void OnStop(int) { g_stop = 1; }
extern "C" void OnReload(int) { g_reload = 1; }

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// What an integrator wants to know before the first commit: does the auth work, and what
// will the write plan be on this server.
int ShowServer(fhir::FhirClient& client, const Reporter& out) {
  auto auth = client.Authenticate();
  if (!auth.ok()) {
    return out.Fail(Status::Error(auth.status().kind(), "FHIR server auth: " + auth.status().message(),
                                  auth.status().http_status(), auth.status().operation_outcome()));
  }
  auto caps = client.GetCapabilities(/*refresh=*/true);
  if (!caps.ok()) {
    return out.Fail(Status::Error(caps.status().kind(), "FHIR server: " + caps.status().message(),
                                  caps.status().http_status(), caps.status().operation_outcome()));
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

// The shipped mapping rules: beside an installed binary (PREFIX/bin -> PREFIX/share), else in
// the source tree this binary was built from.
std::string ShippedRulesDir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    fs::path installed = exe.parent_path().parent_path() / "share/countersign/mappings/rules";
    if (fs::is_directory(installed, ec)) return installed.string();
  }
#ifdef COUNTERSIGN_SOURCE_RULES_DIR
  if (fs::is_directory(COUNTERSIGN_SOURCE_RULES_DIR, ec)) return COUNTERSIGN_SOURCE_RULES_DIR;
#endif
  return {};
}

}  // namespace

std::string ConfigPath(const Args& args) { return args.Opt("--config", Env("COUNTERSIGN_CONFIG")); }

int Serve(const Args& args, const Reporter& out) {
  if (args.Given("--url")) return out.Usage("serve runs the daemon itself: give --config, not --url");
  std::string path = ConfigPath(args);
  if (path.empty()) return out.Usage("serve needs --config FILE");
  int port = -1;
  if (args.Given("--port")) {
    auto p = ParsePort(args.Opt("--port"));
    if (!p.ok()) return out.Usage(p.status().message());
    port = *p;
  }
  auto cfg = config::Config::Load(path);
  if (!cfg.ok()) return out.FailWith(kConfig, cfg.status());
  auto service = config::Service::Open(*cfg);
  if (!service.ok()) return out.FailWith(kConfig, service.status());
  for (const auto& w : cfg->warnings) std::cerr << "countersign: warning: " << w << "\n";
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
  options.listen.port = port >= 0 ? port : cfg->listen_port;
  options.listen.threads = cfg->listen_threads;
  options.listen.max_body_bytes = cfg->max_body_bytes;
  options.listen.max_header_bytes = cfg->max_header_bytes;
  options.listen.max_url_bytes = cfg->max_url_bytes;
  options.listen.max_headers = cfg->max_headers;
  options.listen.header_timeout_s = cfg->header_timeout_s;
  options.listen.idle_timeout_s = cfg->idle_timeout_s;
  options.listen.request_timeout_s = cfg->request_timeout_s;
  options.listen.max_connections = cfg->max_connections;
  options.listen.tls_cert_file = cfg->tls_cert_file;
  options.listen.tls_key_file = cfg->tls_key_file;
  options.listen.behind_tls_proxy = cfg->behind_tls_proxy;
  options.limits.max_body_bytes = cfg->max_body_bytes;
  options.limits.max_json_depth = cfg->max_json_depth;
  options.worker_enabled = cfg->worker_enabled;
  options.worker_poll_ms = cfg->worker_poll_ms;
  auto daemon = daemon::Daemon::Start(std::move(parts), options);
  if (!daemon.ok()) return out.Fail(daemon.status());
  // The postgres conninfo is not printed: it names hosts and users, and logs travel.
  const std::string store =
      cfg->store_backend == "postgres" ? std::string("postgres") : cfg->store_path;
  std::cout << "countersign: serving on " << (*daemon)->url() << " (store " << store
            << ", FHIR server " << cfg->fhir.base_url << ")" << std::endl;
  struct sigaction stop {}, reload {};
  stop.sa_handler = OnStop;
  reload.sa_handler = OnReload;
  sigemptyset(&stop.sa_mask);
  sigemptyset(&reload.sa_mask);
  sigaction(SIGINT, &stop, nullptr);
  sigaction(SIGTERM, &stop, nullptr);
  sigaction(SIGHUP, &reload, nullptr);
  while (!g_stop) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (g_reload) {
      g_reload = 0;
      std::string summary;
      Status r = s->ReloadTokens(&summary);
      if (r.ok()) {
        std::cerr << "countersign: SIGHUP: API tokens reloaded from " << path << ": " << summary
                  << std::endl;
      } else {
        std::cerr << "countersign: SIGHUP: tokens not reloaded, the previous ones stay: "
                  << r.message() << std::endl;
      }
    }
  }
  (*daemon)->Stop();
  std::cout << "countersign: stopped" << std::endl;
  return kOk;
}

int CheckConfig(const Args& args, const Reporter& out) {
  if (args.Given("--url")) return out.Usage("check-config reads a config file: --url does not apply");
  std::string path = args.positional.empty() ? ConfigPath(args) : args.positional[0];
  if (!args.positional.empty() && args.Given("--config") && args.Opt("--config") != path) {
    return out.Usage("check-config: two config files given (FILE and --config)");
  }
  if (path.empty()) return out.Usage("check-config needs FILE");
  auto cfg = config::Config::Load(path);
  if (!cfg.ok()) return out.FailWith(kConfig, cfg.status());
  std::vector<std::string> notes;
  Status checked = config::Service::Check(*cfg, &notes);
  if (!checked.ok()) {
    return out.FailWith(kConfig, Status::Error(checked.kind(), path + ": " + checked.message(), 0,
                                               checked.operation_outcome()));
  }
  std::cout << path << ": ok (" << cfg->tokens.size() << " tokens, FHIR server "
            << cfg->fhir.base_url << ")\n";
  for (const auto& w : cfg->warnings) std::cout << "warning: " << w << "\n";
  for (const auto& n : notes) std::cout << n << "\n";
  if (!args.Has("--connect")) return kOk;
  auto client = fhir::FhirClient::Create(cfg->fhir);
  if (!client.ok()) return out.FailWith(kConfig, client.status());
  return ShowServer(**client, out);
}

int Map(const Args& args, const Reporter& out) {
  if (args.Given("--url")) {
    return out.Usage("map works locally, with no daemon: give --rules DIR, --config FILE or neither");
  }
  std::string rules = args.Opt("--rules");
  mappings::ProfileSelection profiles;
  if (rules.empty() && !ConfigPath(args).empty()) {
    auto cfg = config::Config::Load(ConfigPath(args));
    if (!cfg.ok()) return out.FailWith(kConfig, cfg.status());
    rules = cfg->rules_dir;
    profiles = cfg->profiles;
  }
  if (rules.empty()) rules = ShippedRulesDir();
  if (rules.empty()) {
    return out.FailWith(kConfig, Status::NotFound("the shipped mapping rules are not beside this "
                                                  "binary: give --rules DIR"));
  }
  auto mapper = mappings::MappingEngine::Load(rules, profiles);
  if (!mapper.ok()) {
    return out.FailWith(kConfig, Status::Error(mapper.status().kind(),
                                               "mappings: " + mapper.status().message(), 0,
                                               mapper.status().operation_outcome()));
  }
  auto text = ReadInputFile(args.positional[0]);
  if (!text.ok()) return out.Fail(text.status());
  mappings::MapContext ctx;
  ctx.proposal_id = "preview";
  ctx.recorded_time = core::FormatInstant(core::SystemClock().NowMillis());
  auto mapped = (*mapper)->Map(*text, ctx);
  if (!mapped.ok()) return out.Fail(mapped.status());
  std::cout << json::Pretty(mapped->bundle) << "\n";
  return kOk;
}

}  // namespace countersign::cli
