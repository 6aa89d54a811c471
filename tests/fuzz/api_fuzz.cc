// REST request handling on arbitrary requests over a real SQLite store and the sample config:
// never crash; every error answer is an OperationOutcome; the audit chain stays intact.
// Input: "<method>\n<path[?query]>\n<token index>\n<content-type>\n<body>".
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "plugin/config/service.h"
#include "plugin/daemon/api.h"

using namespace countersign;

namespace {

struct World {
  std::unique_ptr<config::Service> service;
  std::unique_ptr<daemon::Api> api;
};

// Each World has its own store file. A long run starts a fresh one every kCallsPerStore
// requests: the store only grows, and the periodic whole-chain verification would otherwise make
// a long run quadratic (it fell to ~200 exec/s after 40 minutes).
constexpr int kCallsPerStore = 512 * 100;  // a multiple of the verification period

std::string StorePath(int generation) {
  return (std::filesystem::temp_directory_path() /
          ("countersign-api-fuzz-" + std::to_string(getpid()) + "-" + std::to_string(generation) +
           ".db")).string();
}

void RemoveStore(const std::string& db) {
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db + suffix);
}

std::unique_ptr<World> MakeWorld(const std::string& db) {
  std::string fixtures = std::string(COUNTERSIGN_SOURCE_DIR) + "/fixtures/config";
  std::ifstream in(fixtures + "/countersign.json");
  std::stringstream s;
  s << in.rdbuf();
  std::string text = s.str();
  text.replace(text.find("\"countersign.db\""), 16, "\"" + db + "\"");
  text.replace(text.find("http://127.0.0.1:8103"), 21, "http://127.0.0.1:1");
  auto cfg = config::Config::Parse(text, fixtures);
  if (!cfg.ok()) std::abort();
  auto service = config::Service::Open(*cfg);
  if (!service.ok()) std::abort();
  auto world = std::make_unique<World>();
  world->service = std::move(service).value();
  config::Service* sp = world->service.get();
  daemon::ApiDeps deps;
  deps.coordinator = &sp->coordinator();
  deps.store = &sp->store();
  deps.policy = &sp->policy();
  deps.authenticate = [sp](std::string_view t) { return sp->Authenticate(t); };
  deps.log = [](const std::string&) {};
  world->api = std::make_unique<daemon::Api>(deps);
  return world;
}

struct Worlds {
  int generation = 0;
  std::unique_ptr<World> current = MakeWorld(StorePath(0));
  ~Worlds() {
    current.reset();
    RemoveStore(StorePath(generation));
  }
  void Renew() {
    current.reset();
    RemoveStore(StorePath(generation));
    current = MakeWorld(StorePath(++generation));
  }
};

Worlds& Instance() {
  static Worlds worlds;
  return worlds;
}

std::string Line(std::string_view& in) {
  size_t nl = in.find('\n');
  std::string out(in.substr(0, nl));
  in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const char* kTokens[] = {"", "demo-ai-scribe-token", "demo-dr-ada-token",
                                  "demo-fd-sam-token", "demo-admin-kim-token", "wrong"};
  static int calls = 0;
  Worlds& worlds = Instance();
  World& w = *worlds.current;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  daemon::HttpServerRequest req;
  req.method = Line(in);
  std::string target = Line(in);
  std::string token = Line(in);
  std::string type = Line(in);
  size_t q = target.find('?');
  req.path = target.substr(0, q);
  if (q != std::string::npos) {
    auto query = daemon::ParseQuery(target.substr(q + 1));
    if (query) req.query = *query;
  }
  int t = token.empty() ? 0 : static_cast<unsigned char>(token[0]) % 6;
  if (t) req.headers["Authorization"] = std::string("Bearer ") + kTokens[t];
  if (!type.empty()) req.headers["Content-Type"] = type;
  req.body = std::string(in);
  if (req.query.count("diff")) req.query.erase("diff");  // no FHIR server in this harness
  auto resp = w.api->Handle(req);
  if (resp.status >= 400 && resp.body.find("OperationOutcome") == std::string::npos) std::abort();
  if (++calls % 512 == 0) {
    auto v = core::VerifyAudit(w.service->store());
    if (!v.ok() || !v->ok) std::abort();
    if (calls % kCallsPerStore == 0) worlds.Renew();  // verified just above
  }
  return 0;
}
