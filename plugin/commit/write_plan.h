// The write plan: how an approved pending Bundle reaches a particular FHIR server, decided from
// what that server declares in its CapabilityStatement.
//
// - A server with transactions gets one transaction Bundle (all mapped resources, the AI Device
//   and the Provenance, last); otherwise ordered per-resource writes, Device first, then the
//   mapped resources in Bundle order (a note amendment creates the new note before superseding
//   the old one), then the Provenance on its own.
// - The Provenance's targets must name the committed versions (Type/id/_history/v). In a
//   transaction they carry the resolve-as-version-specific extension and the server fills them
//   in; per-resource, or where a server kept them as sent, the executor pins them from the
//   server's answers (provenance_targets.h). A server that refuses Provenance writes gets none:
//   the Provenance goes to the local ledger instead. The AI Device follows the same rule (Epic's
//   sandbox can create neither).
// - A mapped resource the server cannot write (Epic: Appointment is read-only) makes the plan fail
//   with kUnsupported: nothing is sent, and a person is told why.
//
// Pure function of its inputs; no I/O. Thread-safe.
#pragma once

#include <string>
#include <vector>

#include "fhir/json.h"
#include "fhir/status.h"

namespace countersign::fhir {
class Capabilities;
}

namespace countersign::commit {

enum class PlanMode { kTransaction, kPerResource };

// Where an entry goes.
enum class Destination {
  kServer,  // written to the FHIR server
  kLocal,   // kept in the local Provenance ledger (server refuses that type)
};

struct PlannedWrite {
  size_t entry_index = 0;     // index in the pending Bundle's entry array
  std::string full_url;       // the entry's fullUrl (urn:uuid for creates)
  std::string resource_type;
  std::string method;         // POST | PUT | PATCH | DELETE
  std::string url;            // request.url
  std::string if_match;       // W/"n" for updates
  std::string if_none_exist;  // identifier=system|value for creates
  // When the server does not declare conditional create for this type, the engine searches for
  // the identifier itself before creating (Epic). The window between search and create is a
  // documented limit: only one commit worker handles a proposal at a time.
  bool probe_before_create = false;
  // When the server does not declare versioned-update, If-Match may be ignored: the engine reads
  // the current version first and refuses to write over a moved base.
  bool check_version_before_update = false;
  bool is_provenance = false;
  Destination destination = Destination::kServer;
};

struct WritePlan {
  PlanMode mode = PlanMode::kPerResource;
  std::vector<PlannedWrite> writes;  // in execution order; the Provenance (if any) last
  std::string summary;               // one line for people: "transaction of 2 entries, ..."
};

// Decides the plan for bundle on a server with capabilities caps. kUnsupported names every entry
// the server cannot take; kInvalid when the bundle is malformed.
Result<WritePlan> PlanWrites(const json::Value& bundle, const fhir::Capabilities& caps);

}  // namespace countersign::commit
