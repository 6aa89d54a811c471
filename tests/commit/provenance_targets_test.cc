// The Provenance target rules (plugin/commit/provenance_targets.h), without a server: which
// targets ask the server for a version, which are pinned, and which are left alone.
#define BOOST_TEST_MODULE provenance_targets
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "plugin/commit/provenance_targets.h"

namespace countersign::commit {
namespace {

json::Document Provenance(const std::vector<std::string>& targets) {
  json::Document d(rapidjson::kObjectType);
  auto& a = d.GetAllocator();
  json::SetString(d, "resourceType", "Provenance", a);
  json::Value list(rapidjson::kArrayType);
  for (const auto& t : targets) {
    json::Value ref(rapidjson::kObjectType);
    json::SetString(ref, "reference", t, a);
    list.PushBack(ref, a);
  }
  json::Set(d, "target", std::move(list), a);
  return d;
}

const json::Value& Target(const json::Value& provenance, rapidjson::SizeType i) {
  return (*json::Member(provenance, "target"))[i];
}
std::string Ref(const json::Value& provenance, rapidjson::SizeType i) {
  return std::string(json::GetString(Target(provenance, i), "reference").value_or(""));
}
bool AsksForVersion(const json::Value& provenance, rapidjson::SizeType i) {
  const json::Value* ext = json::Member(Target(provenance, i), "extension");
  if (ext == nullptr || !ext->IsArray() || ext->Size() != 1) return false;
  return json::GetString((*ext)[0], "url").value_or("") == kResolveAsVersionSpecific &&
         json::GetBool((*ext)[0], "valueBoolean").value_or(false);
}

PlannedWrite Write(std::string method, std::string url, std::string full_url) {
  PlannedWrite w;
  w.method = std::move(method);
  w.url = std::move(url);
  w.full_url = std::move(full_url);
  return w;
}

WriteRecord Record(std::string type, std::string id, std::string version) {
  WriteRecord r;
  r.resource_type = std::move(type);
  r.id = std::move(id);
  r.version_id = std::move(version);
  r.outcome = "created";
  return r;
}

BOOST_AUTO_TEST_CASE(targets_written_by_the_transaction_ask_for_their_version) {
  const std::string note = "urn:uuid:6f1c2a9e-1d1b-4c55-9a3e-0c1f7b1d2e3a";
  const std::string task = "urn:uuid:aa1c2a9e-1d1b-4c55-9a3e-0c1f7b1d2e3b";
  json::Document prov = Provenance({
      "URN:UUID:6F1C2A9E-1D1B-4C55-9A3E-0C1F7B1D2E3A",  // the note, placeholder in upper case
      "Appointment/appt-9/_history/2",                   // an update, named at its base version
      task,                                              // a conditional update's placeholder
      "Patient/p1",                                      // not written by this transaction
  });
  PlannedWrite create = Write("POST", "DocumentReference", note);
  PlannedWrite update = Write("PUT", "Appointment/appt-9", "Appointment/appt-9");
  PlannedWrite conditional = Write("PUT", "Task?identifier=x|1", task);
  RequestVersionedTargets(prov, {&create, &update, &conditional}, prov.GetAllocator());
  BOOST_TEST(Ref(prov, 0) == note);
  BOOST_TEST(AsksForVersion(prov, 0));
  BOOST_TEST(Ref(prov, 1) == "Appointment/appt-9");  // the server names the version it writes
  BOOST_TEST(AsksForVersion(prov, 1));
  BOOST_TEST(Ref(prov, 2) == task);
  BOOST_TEST(AsksForVersion(prov, 2));
  BOOST_TEST(Ref(prov, 3) == "Patient/p1");
  BOOST_TEST(json::Member(Target(prov, 3), "extension") == nullptr);
  // Asked twice, still one extension.
  RequestVersionedTargets(prov, {&create}, prov.GetAllocator());
  BOOST_TEST(AsksForVersion(prov, 0));
}

BOOST_AUTO_TEST_CASE(pinning_names_the_committed_version_and_drops_the_request) {
  json::Document prov = Provenance({"DocumentReference/n1", "Appointment/a1/_history/2", "Patient/p1"});
  PlannedWrite update = Write("PUT", "Appointment/a1", "Appointment/a1");
  RequestVersionedTargets(prov, {&update}, prov.GetAllocator());
  std::vector<WriteRecord> writes = {Record("DocumentReference", "n1", "1"),
                                     Record("Appointment", "a1", "3")};
  BOOST_TEST(!TargetsVersioned(prov, writes));
  PinTargets(prov, writes, prov.GetAllocator());
  BOOST_TEST(Ref(prov, 0) == "DocumentReference/n1/_history/1");
  BOOST_TEST(Ref(prov, 1) == "Appointment/a1/_history/3");
  BOOST_TEST(json::Member(Target(prov, 1), "extension") == nullptr);
  BOOST_TEST(Ref(prov, 2) == "Patient/p1");
  BOOST_TEST(TargetsVersioned(prov, writes));
}

BOOST_AUTO_TEST_CASE(a_version_already_named_is_kept_by_pin_unversioned) {
  // Found on the server after a retry: the server pinned the note at 1; it is at 2 now.
  json::Document prov = Provenance({"DocumentReference/n1/_history/1", "Appointment/a1"});
  std::vector<WriteRecord> writes = {Record("DocumentReference", "n1", "2"),
                                     Record("Appointment", "a1", "5")};
  BOOST_TEST(!TargetsVersioned(prov, writes));
  PinUnversionedTargets(prov, writes, prov.GetAllocator());
  BOOST_TEST(Ref(prov, 0) == "DocumentReference/n1/_history/1");
  BOOST_TEST(Ref(prov, 1) == "Appointment/a1/_history/5");
  BOOST_TEST(TargetsVersioned(prov, writes));
  // PinTargets, for a Provenance the engine writes itself, names the versions it has.
  PinTargets(prov, writes, prov.GetAllocator());
  BOOST_TEST(Ref(prov, 0) == "DocumentReference/n1/_history/2");
}

}  // namespace
}  // namespace countersign::commit
