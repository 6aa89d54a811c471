// The SQLite store's files hold PHI: private (0600) whatever the umask, never in a directory
// others may write to, never adopted from another user in a shared one; and one serving instance
// per file, while admin opens of the same file keep working.
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "plugin/core/store.h"
#include "plugin/core/sqlite_store.h"
#include "tests/plugin/core_fixture.h"

namespace countersign::core {
namespace {

using testing::CoreHarness;
using testing::TempDir;

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  BOOST_REQUIRE_MESSAGE(::stat(path.c_str(), &st) == 0, path);
  return st.st_mode & 07777;
}

// Restores the process umask when done.
struct Umask {
  explicit Umask(mode_t m) : old(::umask(m)) {}
  ~Umask() { ::umask(old); }
  mode_t old;
};

BOOST_AUTO_TEST_SUITE(store_files)

BOOST_AUTO_TEST_CASE(a_new_store_and_its_wal_are_private_whatever_the_umask) {
  Umask open_umask(0);  // the worst case: files would be created 0666
  TempDir dir;
  const std::string db = dir.Path("countersign.db");
  auto store = SqliteStore::Open(db);
  BOOST_REQUIRE_MESSAGE(store.ok(), store.status().ToString());
  AuditRecord a;
  a.at = 1;
  a.actor = "Practitioner/dr-ada";
  a.action = "view";
  BOOST_REQUIRE((*store)->AppendAudit(a).ok());  // writes the -wal and -shm
  for (const char* suffix : {"", "-wal", "-shm"}) {
    BOOST_TEST_CONTEXT(suffix) {
      BOOST_REQUIRE(std::filesystem::exists(db + suffix));
      BOOST_TEST(ModeOf(db + suffix) == 0600u);
    }
  }
  BOOST_REQUIRE((*store)->ClaimServing().ok());
  BOOST_TEST(ModeOf(db + ".lock") == 0600u);
}

BOOST_AUTO_TEST_CASE(an_existing_world_readable_store_is_made_private) {
  TempDir dir;
  const std::string db = dir.Path("countersign.db");
  {
    auto store = SqliteStore::Open(db);
    BOOST_REQUIRE(store.ok());
  }
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::ofstream(db + suffix, std::ios::app).flush();
    ::chmod((db + suffix).c_str(), 0644);
  }
  auto store = SqliteStore::Open(db);
  BOOST_REQUIRE_MESSAGE(store.ok(), store.status().ToString());
  for (const char* suffix : {"", "-wal", "-shm"}) BOOST_TEST(ModeOf(db + suffix) == 0600u, suffix);
}

BOOST_AUTO_TEST_CASE(a_directory_others_may_write_to_is_refused) {
  TempDir dir;
  for (mode_t mode : {0777, 0775, 0757}) {
    const std::string shared = dir.Path("shared-" + std::to_string(mode));
    std::filesystem::create_directory(shared);
    ::chmod(shared.c_str(), mode);
    auto store = SqliteStore::Open(shared + "/countersign.db");
    BOOST_TEST((store.status().kind() == ErrorKind::kIoError), store.status().ToString());
    BOOST_TEST(store.status().message().find("writable by others") != std::string::npos);
    BOOST_TEST(!std::filesystem::exists(shared + "/countersign.db"));  // nothing created
  }
}

// In a sticky shared directory (like /tmp) anyone may create the -wal before us and read what we
// write into it: a file there that is not plainly ours is refused.
BOOST_AUTO_TEST_CASE(a_file_planted_in_a_sticky_shared_directory_is_refused) {
  TempDir dir;
  const std::string shared = dir.Path("tmp");
  std::filesystem::create_directory(shared);
  ::chmod(shared.c_str(), 01777);
  const std::string db = shared + "/countersign.db";
  std::filesystem::create_symlink(dir.Path("elsewhere"), db + "-wal");
  auto planted = SqliteStore::Open(db);
  BOOST_TEST((planted.status().kind() == ErrorKind::kIoError), planted.status().ToString());
  std::filesystem::remove(db + "-wal");
  auto ours = SqliteStore::Open(db);  // our own files in a sticky directory: fine
  BOOST_TEST(ours.ok(), ours.status().ToString());
}

BOOST_AUTO_TEST_CASE(one_serving_instance_per_file_and_admin_opens_still_work) {
  CoreHarness h;
  BOOST_REQUIRE(h.store->ClaimServing().ok());
  BOOST_TEST(h.store->ClaimServing().ok());  // idempotent for the holder
  Proposal p = h.SubmitNote("k1");
  // A second would-be daemon on the same file: refused, naming the holder.
  auto second = SqliteStore::Open(h.db_path);
  BOOST_REQUIRE(second.ok());
  Status claim = (*second)->ClaimServing();
  BOOST_TEST(claim.IsIllegalState(), claim.ToString());
  BOOST_TEST(claim.message().find("pid " + std::to_string(::getpid())) != std::string::npos,
             claim.message());
  // The same opener without serving (the CLI's --config admin commands): reads, verifies the
  // audit chain and writes while the daemon serves.
  BOOST_TEST((*second)->GetProposal(p.id).ok());
  auto verified = VerifyAudit(**second);
  BOOST_REQUIRE(verified.ok());
  BOOST_TEST(verified->ok);
  // Once the serving store closes, another may serve.
  h.coordinator.reset();
  h.store.reset();
  BOOST_TEST((*second)->ClaimServing().ok());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace countersign::core
