// Export of the audit trail as FHIR R4 AuditEvent resources following the patterns of IHE Basic
// Audit Log Patterns (BALP): type rest + restful-interaction subtype, action C/R/U/E, recorded,
// outcome, the acting principal as requestor agent, Countersign as server agent and source
// observer, and entities for the patient (object-role 1) and the proposal (object-role 4) with
// the record's seq and chain hash as entity details.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

#include "fhir/json.h"
#include "fhir/status.h"
#include "plugin/core/audit_chain.h"
#include "plugin/core/store.h"

namespace countersign::core {

inline constexpr const char* kProposalIdentifierSystem = "urn:countersign:proposal";

struct AuditExportOptions {
  std::string observer_display = "Countersign";
  std::string observer_id = "countersign";  // identifier value of the observing node
  bool include_id = true;                   // AuditEvent.id = "cs-audit-<seq>"
};

// One AuditEvent for one record.
json::Document ToAuditEvent(const AuditRecord& record, const AuditExportOptions& options = {});

// Writes every record with seq > after_seq as one AuditEvent per line (NDJSON). Returns the
// number written.
Result<int64_t> ExportAuditNdjson(Store& store, std::ostream& out, int64_t after_seq = 0,
                                  const AuditExportOptions& options = {});

}  // namespace countersign::core
