// Tampering with a real store file: for every record, edit it, delete it, or swap it with its
// neighbour using raw SQL on a copy of the database; VerifyAudit must report that record.
#include <sqlite3.h>

#include <boost/test/unit_test.hpp>

#include <filesystem>

#include "tests/plugin/core_fixture.h"

namespace countersign::core {
namespace {

using testing::CoreHarness;

// Runs statements (each may use ?1 and ?2) on a database file directly.
void Tamper(const std::string& path, const std::vector<std::string>& statements, int64_t a,
            int64_t b = 0) {
  sqlite3* db = nullptr;
  BOOST_REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  for (const std::string& sql : statements) {
    sqlite3_stmt* st = nullptr;
    BOOST_REQUIRE_MESSAGE(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK,
                          sqlite3_errmsg(db));
    if (sqlite3_bind_parameter_count(st) >= 1) sqlite3_bind_int64(st, 1, a);
    if (sqlite3_bind_parameter_count(st) >= 2) sqlite3_bind_int64(st, 2, b);
    BOOST_REQUIRE_MESSAGE(sqlite3_step(st) == SQLITE_DONE, sqlite3_errmsg(db));
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
}

AuditVerification VerifyFile(const std::string& path) {
  auto store = SqliteStore::Open(path);
  BOOST_REQUIRE(store.ok());
  auto v = VerifyAudit(**store);
  BOOST_REQUIRE_MESSAGE(v.ok(), v.status().ToString());
  return *v;
}

struct TamperFixture {
  TamperFixture() {
    auto& c = *h.coordinator;
    Proposal a = h.SubmitNote("k1");
    Proposal b = h.SubmitNote("k2");
    h.SubmitNote("k3");
    BOOST_REQUIRE(c.View(h.P("Practitioner/dr-ada"), a.id).ok());
    BOOST_REQUIRE(c.Approve(h.P("Practitioner/dr-ada"), a.id).ok());
    BOOST_REQUIRE(c.Reject(h.P("Practitioner/dr-grace"), b.id, {"not-needed", ""}).ok());
    BOOST_REQUIRE(!c.Approve(h.P("Practitioner/fd-sam"), b.id).ok());  // audited refusal
    records = h.store->ReadAuditHead()->count;
    BOOST_REQUIRE(records == 7);
    h.coordinator.reset();
    h.store.reset();  // closing checkpoints the WAL into the main file
    BOOST_REQUIRE(VerifyFile(h.db_path).ok);
  }
  std::string Copy(const std::string& name) {
    std::string path = h.dir.Path(name);
    std::filesystem::copy_file(h.db_path, path, std::filesystem::copy_options::overwrite_existing);
    std::filesystem::remove(path + "-wal");
    std::filesystem::remove(path + "-shm");
    return path;
  }
  CoreHarness h;
  int64_t records = 0;
};

BOOST_FIXTURE_TEST_SUITE(audit_tamper, TamperFixture)

BOOST_AUTO_TEST_CASE(editing_any_record_is_detected_at_that_record) {
  const std::vector<std::string> edits = {
      "UPDATE audit_log SET actor = 'Practitioner/mallory' WHERE seq = ?1",
      "UPDATE audit_log SET outcome = 12 - outcome WHERE seq = ?1",
      "UPDATE audit_log SET action = 'approve' || action WHERE seq = ?1",
      "UPDATE audit_log SET detail_json = detail_json || ' ' WHERE seq = ?1",
      "UPDATE audit_log SET patient = 'Patient/other' WHERE seq = ?1",
      "UPDATE audit_log SET prev_hash = hash WHERE seq = ?1",
      "UPDATE audit_log SET at = at + 1 WHERE seq = ?1",
      // A different first byte, whatever the hash was (a fixed '00' is a no-op 1 time in 256).
      "UPDATE audit_log SET hash = (CASE WHEN substr(hash, 1, 2) = '00' THEN 'ff' ELSE '00' END) "
      "|| substr(hash, 3) WHERE seq = ?1",
  };
  for (const std::string& edit : edits) {
    for (int64_t seq = 1; seq <= records; ++seq) {
      std::string path = Copy("edit.db");
      Tamper(path, {edit}, seq);
      AuditVerification v = VerifyFile(path);
      BOOST_TEST_CONTEXT(edit << " at " << seq) {
        BOOST_TEST(!v.ok);
        BOOST_TEST(v.first_broken == seq);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(re_sealing_an_edited_record_still_breaks_the_next_link) {
  // A tamperer who recomputes the edited record's own hash breaks the next record's prev_hash.
  std::string path = Copy("reseal.db");
  Tamper(path, {"UPDATE audit_log SET detail_json = '{\"x\":1}' WHERE seq = ?1"}, 3);
  {
    auto store = SqliteStore::Open(path);
    auto recs = (*store)->ReadAudit(2, 1);
    AuditRecord r = (*recs)[0];
    std::string fixed = ComputeAuditHash(r);
    store->reset();
    sqlite3* db = nullptr;
    sqlite3_open(path.c_str(), &db);
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, "UPDATE audit_log SET hash = ?1 WHERE seq = 3", -1, &st, nullptr);
    sqlite3_bind_text(st, 1, fixed.c_str(), -1, SQLITE_TRANSIENT);
    BOOST_REQUIRE(sqlite3_step(st) == SQLITE_DONE);
    sqlite3_finalize(st);
    sqlite3_close(db);
  }
  AuditVerification v = VerifyFile(path);
  BOOST_TEST(!v.ok);
  BOOST_TEST(v.first_broken == 4);
}

BOOST_AUTO_TEST_CASE(deleting_any_record_is_detected_at_that_record) {
  for (int64_t seq = 1; seq <= records; ++seq) {
    std::string path = Copy("delete.db");
    Tamper(path, {"DELETE FROM audit_log WHERE seq = ?1"}, seq);
    AuditVerification v = VerifyFile(path);
    BOOST_TEST_CONTEXT("delete " << seq) {
      BOOST_TEST(!v.ok);
      BOOST_TEST(v.first_broken == seq);
    }
  }
}

BOOST_AUTO_TEST_CASE(reordering_any_record_is_detected_at_that_record) {
  for (int64_t seq = 1; seq < records; ++seq) {
    std::string path = Copy("reorder.db");
    Tamper(path,
           {"UPDATE audit_log SET seq = -1 WHERE seq = ?1",
            "UPDATE audit_log SET seq = ?1 WHERE seq = ?2",
            "UPDATE audit_log SET seq = ?2 WHERE seq = -1"},
           seq, seq + 1);
    AuditVerification v = VerifyFile(path);
    BOOST_TEST_CONTEXT("swap " << seq << " and " << seq + 1) {
      BOOST_TEST(!v.ok);
      BOOST_TEST(v.first_broken == seq);
    }
  }
}

BOOST_AUTO_TEST_CASE(truncating_the_tail_with_the_head_is_detected) {
  std::string path = Copy("truncate.db");
  Tamper(path, {"DELETE FROM audit_log WHERE seq >= ?1"}, records - 1);
  AuditVerification v = VerifyFile(path);
  BOOST_TEST(!v.ok);
  BOOST_TEST(v.first_broken == records - 1);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace countersign::core
