// Internal to the REST API: what api.cc (dispatch, authentication, logging) shares with the
// route files (api_proposals.cc, api_audit.cc). Not a public header.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "fhir/json.h"
#include "plugin/daemon/api.h"

namespace countersign::daemon::internal {

// One authenticated call: the request, its path split into segments, and who makes it.
struct Call {
  const HttpServerRequest& request;
  std::vector<std::string> segments;  // "/proposals/x/approve" -> {"proposals","x","approve"}
  core::Principal principal;          // from the bearer token
};

// Kept per Api: the cached proposal counts for /metrics.
struct CountsCache;

HttpServerResponse JsonResponse(int status, std::string body,
                                std::string content_type = "application/json");
// The body as a JSON object: 415 unless Content-Type is application/json or
// application/fhir+json, 413 over the size limit, 400 when malformed, too deep, or not an
// object. allow_empty: an empty body reads as {}.
Result<json::Document> ReadJsonObject(const HttpServerRequest& request, const ApiLimits& limits,
                                      bool allow_empty);
// The response for a ReadJsonObject failure (415 for a wrong Content-Type, else ErrorResponse).
HttpServerResponse BodyError(const Status& status);
// kInvalid naming the first member of object not in allowed (e.g. a body naming an approver).
Status OnlyMembers(const json::Value& object, std::initializer_list<std::string_view> allowed);
// Optional string member: kInvalid when present and not a string.
Result<std::string> OptionalString(const json::Value& object, std::string_view name);
// A query parameter that must be a decimal integer in [min, max]; fallback when absent.
Result<int64_t> QueryInt(const HttpServerRequest& request, std::string_view name, int64_t min,
                         int64_t max, int64_t fallback);

std::string Render(const ApiDeps& deps, const core::Proposal& proposal, bool with_content);

// Route handlers. Each returns the response to send (errors included).
HttpServerResponse SubmitDraft(const ApiDeps& deps, const Call& call);
HttpServerResponse ListProposals(const ApiDeps& deps, const Call& call);
HttpServerResponse GetProposal(const ApiDeps& deps, const Call& call, const std::string& id);
HttpServerResponse DecideProposal(const ApiDeps& deps, const Call& call, const std::string& id,
                                  std::string_view action);
HttpServerResponse ProposalAudit(const ApiDeps& deps, const Call& call, const std::string& id);
HttpServerResponse VerifyAuditChain(const ApiDeps& deps, const Call& call);
HttpServerResponse ExportAudit(const ApiDeps& deps, const Call& call);
HttpServerResponse ProvenanceLedger(const ApiDeps& deps, const Call& call);

}  // namespace countersign::daemon::internal
