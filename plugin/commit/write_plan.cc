#include "plugin/commit/write_plan.h"

#include "fhir/bundle.h"
#include "fhir/capabilities.h"
#include "fhir/resource.h"

namespace countersign::commit {

Result<WritePlan> PlanWrites(const json::Value& bundle, const fhir::Capabilities& caps) {
  auto entries = fhir::ReadEntries(bundle);
  if (!entries.ok()) return entries.status();
  WritePlan plan;
  std::vector<std::string> unsupported;
  std::vector<PlannedWrite> devices, mapped, provenance;
  for (size_t i = 0; i < entries->size(); ++i) {
    const fhir::BundleEntryView& e = (*entries)[i];
    if (e.resource == nullptr && e.request.method != "DELETE") {
      return Status::Invalid("entry " + std::to_string(i) + " has no resource");
    }
    PlannedWrite w;
    w.entry_index = i;
    w.full_url = e.full_url;
    w.method = e.request.method;
    w.url = e.request.url;
    w.if_match = e.request.if_match;
    w.if_none_exist = e.request.if_none_exist;
    if (e.resource != nullptr) {
      auto type = fhir::ResourceType(*e.resource);
      if (!type) return Status::Invalid("entry " + std::to_string(i) + " has no resourceType");
      w.resource_type = std::string(*type);
    } else {
      w.resource_type = w.url.substr(0, w.url.find('/'));
    }
    const char* interaction = fhir::InteractionForMethod(w.method);
    if (interaction == nullptr) {
      return Status::Invalid("entry " + std::to_string(i) + ": unsupported request.method '" +
                             w.method + "'");
    }
    bool server_can = caps.Supports(w.resource_type, interaction);
    if (w.method == "POST" && !w.if_none_exist.empty()) {
      w.probe_before_create = !caps.ConditionalCreate(w.resource_type);
    }
    if (w.method == "PUT" && !w.if_match.empty()) {
      w.check_version_before_update = !caps.VersionedUpdate(w.resource_type);
    }
    if (w.resource_type == "Provenance") {
      w.is_provenance = true;
      w.destination = server_can ? Destination::kServer : Destination::kLocal;
      provenance.push_back(std::move(w));
    } else if (w.resource_type == "Device") {
      // The AI model's Device: where the server cannot store it, it travels inside the
      // Provenance (contained) instead.
      w.destination = server_can ? Destination::kServer : Destination::kLocal;
      devices.push_back(std::move(w));
    } else {
      if (!server_can) {
        unsupported.push_back(w.resource_type + " " + interaction + " (entry " +
                              std::to_string(i) + ")");
      }
      mapped.push_back(std::move(w));
    }
  }
  if (!unsupported.empty()) {
    std::string list;
    for (const auto& u : unsupported) list += (list.empty() ? "" : ", ") + u;
    return Status::Unsupported("the FHIR server does not allow: " + list +
                               " (per its CapabilityStatement); nothing was sent");
  }
  if (mapped.empty()) return Status::Invalid("the Bundle has no resource to write");
  if (provenance.size() > 1) return Status::Invalid("the Bundle has more than one Provenance");

  bool device_local = false;
  for (const auto& d : devices) device_local |= d.destination == Destination::kLocal;
  // One transaction when the server has them (the executor adds the Provenance to it).
  plan.mode = caps.transaction ? PlanMode::kTransaction : PlanMode::kPerResource;
  for (auto& d : devices) plan.writes.push_back(std::move(d));
  for (auto& m : mapped) plan.writes.push_back(std::move(m));
  for (auto& p : provenance) plan.writes.push_back(std::move(p));

  size_t server_writes = 0;
  for (const auto& w : plan.writes) {
    if (w.destination == Destination::kServer && !w.is_provenance) ++server_writes;
  }
  plan.summary = (plan.mode == PlanMode::kTransaction ? "transaction of " : "per-resource writes: ") +
                 std::to_string(server_writes) + " entr" + (server_writes == 1 ? "y" : "ies");
  if (!provenance.empty()) {
    if (provenance[0].destination == Destination::kLocal) {
      plan.summary += ", Provenance kept in the local ledger (server refuses it)";
    } else {
      plan.summary += plan.mode == PlanMode::kTransaction
                          ? " and the Provenance with versioned targets"
                          : ", then the Provenance with versioned targets";
    }
  }
  if (device_local) plan.summary += ", AI Device contained in the Provenance (server refuses it)";
  return plan;
}

}  // namespace countersign::commit
