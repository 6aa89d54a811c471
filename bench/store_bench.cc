// store_bench: the governance store's two numbers that matter.
//
// 1. Durable approvals per second (Coordinator::Approve: guardrail re-check, Provenance update,
//    approval + history + outbox + audit in one transaction, synchronous=FULL), from T threads:
//    baseline one transaction and fsync per approval, against group commit (many approvals per
//    transaction and fsync).
// 2. Queue listing latency (p50/p99) with N proposals stored (default 1,000,000): the queries a
//    reviewer's screen makes, first pages and deep keyset pages.
//
// usage: store_bench [--proposals N] [--approvals M] [--threads T] [--dir PATH] [--queries Q]
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "plugin/core/coordinator.h"
#include "plugin/core/sqlite_store.h"

using namespace countersign;
using namespace countersign::core;
using Steady = std::chrono::steady_clock;

namespace {

struct Args {
  int64_t proposals = 1'000'000;
  int approvals = 2000;
  int threads = 8;
  int queries = 2000;
  std::string dir;
};

std::string Source(const std::string& rel) { return std::string(COUNTERSIGN_SOURCE_DIR) + "/" + rel; }

template <typename T>
T Must(Result<T> r, const char* what) {
  if (!r.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, r.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(r).value();
}

void Must(const Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, s.ToString().c_str());
    std::exit(1);
  }
}

// A realistic pending note Bundle (DocumentReference + AI Device + Provenance), ~1.5 kB.
std::string NoteBundle(int64_t i) {
  std::string n = std::to_string(i);
  return R"({"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:00000000-0000-4000-8000-)" +
         std::string(12 - std::min<size_t>(12, n.size()), '0') + n +
         R"(","resource":{"resourceType":"DocumentReference","meta":{"security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationValue","code":"AIAST"}]},"status":"current","docStatus":"preliminary","subject":{"reference":"Patient/)" +
         std::to_string(i % 50000) +
         R"("},"description":"Follow-up visit. Patient reports improvement; continue current plan and review labs in two weeks.","content":[{"attachment":{"contentType":"text/plain","title":"AI draft"}}]},"request":{"method":"POST","url":"DocumentReference"}},{"fullUrl":"urn:uuid:11111111-1111-4111-8111-111111111111","resource":{"resourceType":"Device","identifier":[{"system":"urn:countersign:ai-model","value":"acme|scribe|1.0"}]},"request":{"method":"POST","url":"Device","ifNoneExist":"identifier=urn:countersign:ai-model|acme|scribe|1.0"}},{"fullUrl":"urn:uuid:22222222-2222-4222-8222-222222222222","resource":{"resourceType":"Provenance","target":[{"reference":"urn:uuid:00000000-0000-4000-8000-000000000000"}],"recorded":"2024-01-01T00:00:00.000Z","agent":[{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/provenance-participant-type","code":"author"}]},"who":{"reference":"urn:uuid:11111111-1111-4111-8111-111111111111"}}]},"request":{"method":"POST","url":"Provenance"}}]})";
}

const char* kKinds[] = {"note", "appointment", "message"};

NewProposal Make(int64_t i, int64_t base_time) {
  NewProposal p;
  char id[40];
  std::snprintf(id, sizeof id, "p%010lld", static_cast<long long>(i));
  p.id = id;
  // Knuth's multiplicative hash spreads owners, kinds and patients independently of each other.
  const uint64_t h = (static_cast<uint64_t>(i) * 2654435761u) >> 3;
  p.kind = h % 10 < 6 ? "note" : kKinds[(h / 10) % 3];
  p.action = "create";
  p.patient = "Patient/" + std::to_string((h / 30) % 50000);
  p.ai_principal = "Device/ai-scribe";
  p.idempotency_key = p.id;
  p.owner = (h / 7) % 4 == 0 ? "queue:front-desk"
                             : "Practitioner/doc" + std::to_string((h / 1'500'000) % 500);
  p.draft_json = R"({"text":"draft )" + std::to_string(i) + "\"}";
  p.bundle_json = NoteBundle(i);
  p.patches_json = "[]";
  p.created_at = base_time + i * 100;  // one every 100 ms: ~28 hours of history
  p.expires_at = 0;
  return p;
}

// A path in the bench directory with no database left from an earlier run.
std::string FreshDb(const Args& args, const char* name) {
  std::string path = args.dir + "/" + name;
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  return path;
}

double last_batch = 1;  // mean changes per commit (fsync) of the last approval run

struct Deps {
  PrincipalDirectory principals;
  ApprovalPolicy policy;
  Guardrails guardrails;
};

// The store alone: each approval is UpdateProposal (status, approval, history, outbox, audit)
// without the coordinator's JSON work, so the fsync pattern dominates.
double StoreApprovals(const Args& args, bool group, int threads) {
  std::string path = FreshDb(args, group ? "store-group.db" : "store-single.db");
  SqliteStoreOptions options;
  options.group_commit = group;
  auto store = Must(SqliteStore::Open(path, options), "open");
  Must(store->SeedProposals(args.approvals, [](int64_t i) { return Make(i, 1'700'000'000'000); }),
       "seed");
  std::atomic<int64_t> next{0};
  std::atomic<int> errors{0};
  auto start = Steady::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      char id[40];
      for (int64_t i; (i = next.fetch_add(1)) < args.approvals;) {
        std::snprintf(id, sizeof id, "p%010lld", static_cast<long long>(i));
        ProposalUpdate u;
        u.proposal_id = id;
        u.expected_status = ProposalStatus::kPending;
        u.new_status = ProposalStatus::kApproved;
        u.approval = ApprovalRecord{0, "Practitioner/dr-ada", "clinician", i};
        u.enqueue_outbox = true;
        u.event = {0, i, "Practitioner/dr-ada", "clinician", "approve", "", "", "", "", ""};
        AuditRecord a;
        a.at = i;
        a.actor = "Practitioner/dr-ada";
        a.action = audit::kApprove;
        a.proposal_id = id;
        u.audit = a;
        if (!store->UpdateProposal(u).ok()) ++errors;
      }
    });
  }
  for (auto& t : pool) t.join();
  double secs = std::chrono::duration<double>(Steady::now() - start).count();
  if (errors) std::fprintf(stderr, "%d approvals failed\n", errors.load());
  auto st = store->Stats();
  last_batch = static_cast<double>(st.changes) / static_cast<double>(std::max<int64_t>(1, st.commits));
  return args.approvals / secs;
}

double Approvals(const Args& args, bool group, const Deps& deps, int threads) {
  std::string path = FreshDb(args, group ? "approve-group.db" : "approve-single.db");
  SqliteStoreOptions options;
  options.group_commit = group;
  auto store = Must(SqliteStore::Open(path, options), "open");
  Must(store->SeedProposals(args.approvals, [](int64_t i) {
         NewProposal p = Make(i, 1'700'000'000'000);
         p.kind = "note";
         return p;
       }), "seed");
  CoordinatorDeps cd;
  cd.store = store.get();
  cd.principals = &deps.principals;
  cd.policy = &deps.policy;
  cd.guardrails = &deps.guardrails;
  Coordinator coordinator(cd);
  const Principal& ada = *deps.principals.Find("Practitioner/dr-ada");
  std::atomic<int64_t> next{0};
  std::atomic<int> errors{0};
  auto start = Steady::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      char id[40];
      for (int64_t i; (i = next.fetch_add(1)) < args.approvals;) {
        std::snprintf(id, sizeof id, "p%010lld", static_cast<long long>(i));
        if (!coordinator.Approve(ada, id).ok()) ++errors;
      }
    });
  }
  for (auto& t : pool) t.join();
  double secs = std::chrono::duration<double>(Steady::now() - start).count();
  if (errors) std::fprintf(stderr, "%d approvals failed\n", errors.load());
  auto st = store->Stats();
  last_batch = static_cast<double>(st.changes) / static_cast<double>(std::max<int64_t>(1, st.commits));
  auto v = Must(VerifyAudit(*store), "verify");
  if (!v.ok) std::fprintf(stderr, "audit chain broken at %lld\n", static_cast<long long>(v.first_broken));
  return args.approvals / secs;
}

struct Latency {
  double p50_us, p99_us, max_us;
};

// Runs query n/4 times to warm the caches, then n times measured.
template <typename F>
Latency Measure(int n, F&& query) {
  for (int i = 0; i < n / 4; ++i) query(i);
  std::vector<double> us;
  us.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    auto t0 = Steady::now();
    query(i);
    us.push_back(std::chrono::duration<double, std::micro>(Steady::now() - t0).count());
  }
  std::sort(us.begin(), us.end());
  return {us[us.size() / 2], us[us.size() * 99 / 100], us.back()};
}

void Listing(const Args& args) {
  std::string path = FreshDb(args, "queue.db");
  auto store = Must(SqliteStore::Open(path), "open");
  const int64_t base = 1'700'000'000'000;
  auto t0 = Steady::now();
  Must(store->SeedProposals(args.proposals, [base](int64_t i) { return Make(i, base); }), "seed");
  double seed_s = std::chrono::duration<double>(Steady::now() - t0).count();
  {
    // A realistic status mix: 70% committed, 10% rejected, 5% expired, 15% pending (bench only:
    // a direct UPDATE over the seeded rows).
    sqlite3* db = nullptr;
    sqlite3_open(path.c_str(), &db);
    sqlite3_exec(db,
                 "UPDATE proposals SET status = CASE (rowid * 2654435761 / 131) % 20 "
                 "WHEN 14 THEN 'rejected' WHEN 15 THEN 'rejected' WHEN 16 THEN 'expired' "
                 "WHEN 17 THEN 'pending' WHEN 18 THEN 'pending' WHEN 19 THEN 'pending' "
                 "ELSE 'committed' END",
                 nullptr, nullptr, nullptr);
    sqlite3_close(db);
  }
  std::printf("seeded %lld proposals in %.1f s (%.0f rows/s), file %.0f MB\n",
              static_cast<long long>(args.proposals), seed_s, args.proposals / seed_s,
              std::filesystem::file_size(path) / 1e6);
  std::mt19937 rng(42);
  auto pick = [&](int mod) { return static_cast<int>(rng() % static_cast<unsigned>(mod)); };
  const int q = args.queries;
  auto report = [](const char* name, Latency l) {
    std::printf("  %-52s p50 %8.1f us   p99 %8.1f us   max %8.1f us\n", name, l.p50_us, l.p99_us, l.max_us);
  };
  auto list = [&](const ProposalFilter& f, const PageRequest& p) {
    auto r = store->ListProposals(f, p);
    if (!r.ok()) {
      std::fprintf(stderr, "list: %s\n", r.status().ToString().c_str());
      std::exit(1);
    }
    return std::move(r).value();
  };
  std::printf("queue listing, page of 50, %d queries each:\n", q);
  int short_pages = 0;
  report("owner + pending (a reviewer's queue)", Measure(q, [&](int) {
           ProposalFilter f;
           f.owner = "Practitioner/doc" + std::to_string(pick(500));
           f.status = ProposalStatus::kPending;
           if (list(f, {50, ""}).items.size() < 50) ++short_pages;  // warm-up included
         }));
  if (short_pages) std::printf("  (%d of those owner queues held fewer than 50 pending)\n", short_pages);
  report("queue:front-desk + pending", Measure(q, [&](int) {
           ProposalFilter f;
           f.owner = "queue:front-desk";
           f.status = ProposalStatus::kPending;
           list(f, {50, ""});
         }));
  report("owner, any status", Measure(q, [&](int) {
           ProposalFilter f;
           f.owner = "Practitioner/doc" + std::to_string(pick(500));
           list(f, {50, ""});
         }));
  report("status pending (all queues)", Measure(q, [&](int) {
           ProposalFilter f;
           f.status = ProposalStatus::kPending;
           list(f, {50, ""});
         }));
  report("patient", Measure(q, [&](int) {
           ProposalFilter f;
           f.patient = "Patient/" + std::to_string(pick(50000));
           list(f, {50, ""});
         }));
  report("kind + pending", Measure(q, [&](int) {
           ProposalFilter f;
           f.kind = kKinds[pick(3)];
           f.status = ProposalStatus::kPending;
           list(f, {50, ""});
         }));
  report("pending older than a random age", Measure(q, [&](int) {
           ProposalFilter f;
           f.status = ProposalStatus::kPending;
           f.created_before = base + static_cast<int64_t>(rng() % static_cast<unsigned>(args.proposals)) * 100;
           list(f, {50, ""});
         }));
  // Deep keyset pages: walk 20 pages of a big queue, measuring each next page.
  std::vector<std::string> cursors;
  {
    ProposalFilter f;
    f.status = ProposalStatus::kPending;
    PageRequest p{50, ""};
    for (int i = 0; i < 2000; ++i) {
      auto page = list(f, p);
      if (page.next_cursor.empty()) break;
      cursors.push_back(page.next_cursor);
      p.after = page.next_cursor;
    }
  }
  report("status pending, next page at depth up to 100k rows", Measure(q, [&](int i) {
           ProposalFilter f;
           f.status = ProposalStatus::kPending;
           list(f, {50, cursors[static_cast<size_t>(i) % cursors.size()]});
         }));
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--proposals") args.proposals = std::atoll(argv[i + 1]);
    else if (flag == "--approvals") args.approvals = std::atoi(argv[i + 1]);
    else if (flag == "--threads") args.threads = std::atoi(argv[i + 1]);
    else if (flag == "--queries") args.queries = std::atoi(argv[i + 1]);
    else if (flag == "--dir") args.dir = argv[i + 1];
    else {
      std::fprintf(stderr, "unknown flag %s\n", argv[i]);
      return 2;
    }
  }
  if (args.dir.empty()) args.dir = std::filesystem::current_path().string() + "/store_bench_data";
  std::filesystem::create_directories(args.dir);
  Deps deps{Must(PrincipalDirectory::LoadFile(Source("fixtures/config/principals.json")), "principals"),
            Must(ApprovalPolicy::LoadFile(Source("fixtures/config/approval-policy.json")), "policy"),
            Must(Guardrails::LoadFile(Source("fixtures/config/guardrails.json")), "guardrails")};
  std::printf("durable approvals (Coordinator::Approve, synchronous=FULL), %d approvals, dir %s\n",
              args.approvals, args.dir.c_str());
  double single1 = Approvals(args, false, deps, 1);
  std::printf("  one fsync per approval,   1 thread : %8.0f approvals/s\n", single1);
  double singleN = Approvals(args, false, deps, args.threads);
  std::printf("  one fsync per approval, %2d threads : %8.0f approvals/s\n", args.threads, singleN);
  double groupN = Approvals(args, true, deps, args.threads);
  std::printf("  group commit,           %2d threads : %8.0f approvals/s  (x%.1f, %.1f changes per fsync)\n",
              args.threads, groupN, groupN / singleN, last_batch);
  std::printf("durable approvals, store only (UpdateProposal), %d approvals\n", args.approvals);
  double s1 = StoreApprovals(args, false, 1);
  std::printf("  one fsync per approval,   1 thread : %8.0f approvals/s\n", s1);
  double sN = StoreApprovals(args, false, args.threads);
  std::printf("  one fsync per approval, %2d threads : %8.0f approvals/s\n", args.threads, sN);
  double gN = StoreApprovals(args, true, args.threads);
  std::printf("  group commit,           %2d threads : %8.0f approvals/s  (x%.1f, %.1f changes per fsync)\n",
              args.threads, gN, gN / sN, last_batch);
  Listing(args);
  std::filesystem::remove_all(args.dir);
  return 0;
}
