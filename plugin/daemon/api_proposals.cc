// The proposal routes: submit, list, get (with the review diff), and the decisions.
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <optional>

#include "fhir/json.h"
#include "plugin/daemon/api.h"
#include "plugin/daemon/api_internal.h"

namespace countersign::daemon {

namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

// The draft member that carries the idempotency key (mappings/draft.schema.json).
constexpr const char* kDraftKeyMember = "idempotency_key";
constexpr size_t kMaxIdempotencyKey = 255;

void Key(Writer& w, const char* name) { w.Key(name); }
void Str(Writer& w, const char* name, const std::string& value) {
  w.Key(name);
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}
void OptStr(Writer& w, const char* name, const std::string& value) {
  if (!value.empty()) Str(w, name, value);
}
void Int(Writer& w, const char* name, int64_t value) {
  w.Key(name);
  w.Int64(value);
}
// Stored JSON text (written by Countersign itself) embedded as is; absent when empty.
void Raw(Writer& w, const char* name, const std::string& text, rapidjson::Type type) {
  if (text.empty()) return;
  w.Key(name);
  w.RawValue(text.data(), text.size(), type);
}

void WriteSummaryFields(Writer& w, const core::ProposalSummary& s) {
  Str(w, "id", s.id);
  Str(w, "kind", s.kind);
  Str(w, "action", s.action);
  Str(w, "status", core::StatusName(s.status));
  Str(w, "patient", s.patient);
  Str(w, "owner", s.owner);
  Str(w, "ai_principal", s.ai_principal);
  Int(w, "revision", s.revision);
  Int(w, "created_at", s.created_at);
  Int(w, "updated_at", s.updated_at);
  if (s.expires_at > 0) Int(w, "expires_at", s.expires_at);
}

// The Provenance entry of the pending Bundle, as JSON text; empty when there is none.
std::string ProvenanceOf(const std::string& bundle_json) {
  auto bundle = json::Parse(bundle_json, 256);
  if (!bundle.ok()) return {};
  const json::Value* entries = json::Member(*bundle, "entry");
  if (!entries || !entries->IsArray()) return {};
  for (const auto& e : entries->GetArray()) {
    const json::Value* r = json::Member(e, "resource");
    if (r && json::GetString(*r, "resourceType").value_or("") == "Provenance") {
      return json::Stringify(*r);
    }
  }
  return {};
}

HttpServerResponse ProposalResponse(const ApiDeps& deps, int status, const core::Proposal& p,
                                    bool with_content) {
  return internal::JsonResponse(status, internal::Render(deps, p, with_content));
}

// A revision number: a JSON integer >= 0, or the decimal digits of an entity tag.
std::optional<int64_t> ParseRevision(std::string_view digits) {
  if (digits.empty() || digits.size() > 15) return std::nullopt;
  int64_t n = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return n;
}

// The revision a decision is about: the body's "revision" and/or If-Match (W/"N" or "N", the
// ETag GET /proposals/{id} answers). Unset when neither is given; kInvalid when malformed or
// when the two disagree.
Result<std::optional<int64_t>> DecidedRevision(const HttpServerRequest& request,
                                               const json::Value& body) {
  std::optional<int64_t> from_body;
  if (const json::Value* v = json::Member(body, "revision")) {
    if (!v->IsInt64() || v->GetInt64() < 0) {
      return Status::Invalid("'revision' must be the proposal's revision number (an integer >= 0)");
    }
    from_body = v->GetInt64();
  }
  std::optional<int64_t> from_header;
  if (auto tag = request.Header("If-Match")) {
    std::string_view t = *tag;
    if (t.substr(0, 2) == "W/") t.remove_prefix(2);
    if (t.size() >= 2 && t.front() == '"' && t.back() == '"') t = t.substr(1, t.size() - 2);
    from_header = ParseRevision(t);
    if (!from_header) {
      return Status::Invalid("If-Match must be the proposal's ETag, W/\"<revision>\"");
    }
  }
  if (from_body && from_header && *from_body != *from_header) {
    return Status::Invalid("the body's revision and If-Match name different revisions");
  }
  return from_body ? from_body : from_header;
}

bool PrintableAscii(std::string_view s) {
  for (char c : s) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

}  // namespace

std::string SummaryJson(const core::ProposalSummary& summary) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  WriteSummaryFields(w, summary);
  w.EndObject();
  return buf.GetString();
}

std::string ProposalJson(const core::Proposal& p, bool with_content) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  WriteSummaryFields(w, p);
  OptStr(w, "encounter", p.encounter);
  OptStr(w, "idempotency_key", p.idempotency_key);
  if (with_content) {
    Raw(w, "draft", p.draft_json, rapidjson::kObjectType);
    Raw(w, "bundle", p.bundle_json, rapidjson::kObjectType);
    Raw(w, "provenance", ProvenanceOf(p.bundle_json), rapidjson::kObjectType);
    Raw(w, "patches", p.patches_json, rapidjson::kArrayType);
    Raw(w, "outcome", p.outcome_json, rapidjson::kObjectType);
    Key(w, "revisions");
    w.StartArray();
    for (const auto& r : p.revisions) {
      w.StartObject();
      Int(w, "revision", r.revision);
      Int(w, "at", r.at);
      Str(w, "author", r.author);
      Str(w, "author_role", r.author_role);
      OptStr(w, "note", r.note);
      Raw(w, "draft", r.draft_json, rapidjson::kObjectType);
      Raw(w, "patches", r.patches_json, rapidjson::kArrayType);
      w.EndObject();
    }
    w.EndArray();
    Key(w, "approvals");
    w.StartArray();
    for (const auto& a : p.approvals) {
      w.StartObject();
      Int(w, "revision", a.revision);
      Str(w, "approver", a.approver);
      Str(w, "role", a.role);
      Int(w, "at", a.at);
      w.EndObject();
    }
    w.EndArray();
    Key(w, "history");
    w.StartArray();
    for (const auto& e : p.history) {
      w.StartObject();
      Int(w, "seq", e.seq);
      Int(w, "at", e.at);
      Str(w, "actor", e.actor);
      OptStr(w, "actor_role", e.actor_role);
      Str(w, "event", e.event);
      OptStr(w, "from", e.from_status);
      OptStr(w, "to", e.to_status);
      OptStr(w, "reason_code", e.reason_code);
      OptStr(w, "reason_text", e.reason_text);
      if (!e.detail_json.empty() && e.detail_json != "{}") {
        Raw(w, "detail", e.detail_json, rapidjson::kObjectType);
      }
      w.EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
  return buf.GetString();
}

namespace internal {

HttpServerResponse SubmitDraft(const ApiDeps& deps, const Call& call) {
  auto draft = ReadJsonObject(call.request, deps.limits, false);
  if (!draft.ok()) return BodyError(draft.status());

  std::string draft_text;
  if (auto key = call.request.Header("Idempotency-Key")) {
    std::string_view k = *key;
    if (k.size() >= 2 && k.front() == '"' && k.back() == '"') k = k.substr(1, k.size() - 2);
    if (k.empty() || k.size() > kMaxIdempotencyKey || !PrintableAscii(k)) {
      return ErrorResponse(Status::Invalid("Idempotency-Key must be 1-255 printable characters"));
    }
    const json::Value* in_draft = json::Member(*draft, kDraftKeyMember);
    if (in_draft && !in_draft->IsNull()) {
      if (!in_draft->IsString() || std::string_view(in_draft->GetString(),
                                                    in_draft->GetStringLength()) != k) {
        return ErrorResponse(Status::Invalid(
            "the Idempotency-Key header and the draft's idempotency_key differ"));
      }
      draft_text = call.request.body;
    } else {
      json::SetString(*draft, kDraftKeyMember, k, draft->GetAllocator());
      draft_text = json::Stringify(*draft);
    }
  } else {
    draft_text = call.request.body;
  }

  auto submitted = deps.coordinator->Submit(call.principal, draft_text);
  if (!submitted.ok()) {
    const Status& s = submitted.status();
    if (s.IsConflict()) {
      // The only conflict a submission has: the key was used before with another draft.
      HttpServerResponse r = ErrorResponse(s);
      r.status = 422;
      return r;
    }
    return ErrorResponse(s);
  }
  HttpServerResponse r = ProposalResponse(deps, 201, submitted->proposal, false);
  r.headers["Location"] = deps.base_path + "/proposals/" + submitted->proposal.id;
  if (!submitted->created) r.headers["Idempotent-Replayed"] = "true";
  return r;
}

HttpServerResponse ListProposals(const ApiDeps& deps, const Call& call) {
  static const char* kKnown[] = {"owner", "status", "patient", "kind", "created_before", "limit",
                                 "after"};
  for (const auto& [name, value] : call.request.query) {
    bool known = false;
    for (const char* k : kKnown) known = known || name == k;
    if (!known) return ErrorResponse(Status::Invalid("unknown query parameter '" +
                                                     name.substr(0, 64) + "'"));
  }
  core::ProposalFilter filter;
  if (auto v = call.request.Query("owner")) filter.owner = std::string(*v);
  if (auto v = call.request.Query("patient")) filter.patient = std::string(*v);
  if (auto v = call.request.Query("kind")) filter.kind = std::string(*v);
  if (auto v = call.request.Query("status")) {
    auto s = core::ParseStatus(*v);
    if (!s) return ErrorResponse(Status::Invalid("unknown status"));
    filter.status = *s;
  }
  auto before = QueryInt(call.request, "created_before", 0, INT64_MAX / 2, -1);
  if (!before.ok()) return ErrorResponse(before.status());
  if (*before >= 0) filter.created_before = *before;
  auto limit = QueryInt(call.request, "limit", 1, deps.limits.max_page, deps.limits.default_page);
  if (!limit.ok()) return ErrorResponse(limit.status());
  core::PageRequest page;
  page.limit = static_cast<int>(*limit);
  page.after = std::string(call.request.Query("after").value_or(""));

  auto result = deps.coordinator->List(call.principal, filter, page);
  if (!result.ok()) return ErrorResponse(result.status());

  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("items");
  w.StartArray();
  for (const auto& s : result->items) {
    w.StartObject();
    WriteSummaryFields(w, s);
    w.EndObject();
  }
  w.EndArray();
  if (!result->next_cursor.empty()) {
    Str(w, "next_cursor", result->next_cursor);
    std::string next = deps.base_path + "/proposals?";
    for (const auto& [name, value] : call.request.query) {
      if (name == "after") continue;
      next += PercentEncode(name) + "=" + PercentEncode(value) + "&";
    }
    next += "after=" + PercentEncode(result->next_cursor);
    Str(w, "next", next);
  }
  w.EndObject();
  return JsonResponse(200, buf.GetString());
}

HttpServerResponse GetProposal(const ApiDeps& deps, const Call& call, const std::string& id) {
  bool diff = false;
  for (const auto& [name, value] : call.request.query) {
    if (name != "diff") {
      return ErrorResponse(Status::Invalid("unknown query parameter '" + name.substr(0, 64) + "'"));
    }
    if (value != "true" && value != "false") {
      return ErrorResponse(Status::Invalid("diff must be true or false"));
    }
    diff = value == "true";
  }
  if (diff && !deps.read_current) {
    return ErrorResponse(Status::Unavailable("no FHIR server configured for the review diff"));
  }
  auto p = deps.coordinator->View(call.principal, id);
  if (!p.ok()) return ErrorResponse(p.status());
  std::string body = Render(deps, *p, true);
  const std::string etag = "W/\"" + std::to_string(p->revision) + "\"";
  if (diff) {
    auto d = deps.coordinator->ReviewDiff(call.principal, id, deps.read_current);
    if (!d.ok()) {
      if (deps.metrics && d.status().IsTransient()) {
        deps.metrics->CountServerError(ErrorKindName(d.status().kind()));
      }
      return ErrorResponse(d.status());
    }
    if (!body.empty() && body.back() == '}') {
      body.pop_back();
      body += ",\"diff\":" + json::Stringify(*d) + "}";
    }
  }
  HttpServerResponse r = JsonResponse(200, std::move(body));
  r.headers["ETag"] = etag;  // what approve takes as If-Match
  return r;
}

HttpServerResponse DecideProposal(const ApiDeps& deps, const Call& call, const std::string& id,
                                  std::string_view action) {
  if (!call.request.query.empty()) {
    return ErrorResponse(Status::Invalid("no query parameters are accepted here"));
  }
  const bool may_be_empty = action == "approve" || action == "rebase";
  auto body = ReadJsonObject(call.request, deps.limits, may_be_empty);
  if (!body.ok()) return BodyError(body.status());
  const json::Value& b = *body;
  Result<core::Proposal> result = Status::Internal("unreachable");

  if (action == "approve") {
    Status s = OnlyMembers(b, {"note", "revision"});
    auto note = OptionalString(b, "note");
    if (!s.ok()) return ErrorResponse(s);
    if (!note.ok()) return ErrorResponse(note.status());
    auto revision = DecidedRevision(call.request, b);
    if (!revision.ok()) return ErrorResponse(revision.status());
    if (!revision->has_value()) {
      // An approval names what the approver saw: with amendments and two approvers, "the current
      // revision" may be one this person never read.
      HttpServerResponse r = ErrorResponse(Status::Invalid(
          "name the revision you approve: {\"revision\": N} or If-Match: W/\"N\" (the proposal's "
          "\"revision\" and ETag)"));
      r.status = 428;
      return r;
    }
    result = deps.coordinator->Approve(call.principal, id, *note, **revision);
  } else if (action == "amend") {
    Status s = OnlyMembers(b, {"draft", "bundle_patch", "note", "revision"});
    if (!s.ok()) return ErrorResponse(s);
    auto note = OptionalString(b, "note");
    if (!note.ok()) return ErrorResponse(note.status());
    auto revision = DecidedRevision(call.request, b);
    if (!revision.ok()) return ErrorResponse(revision.status());
    core::Amendment amendment;
    amendment.note = *note;
    amendment.revision = *revision;
    const json::Value* draft = json::Member(b, "draft");
    const json::Value* patch = json::Member(b, "bundle_patch");
    if ((draft != nullptr) == (patch != nullptr)) {
      return ErrorResponse(Status::Invalid("give exactly one of 'draft' and 'bundle_patch'"));
    }
    if (draft) {
      if (!draft->IsObject()) return ErrorResponse(Status::Invalid("'draft' must be an object"));
      amendment.draft_json = json::Stringify(*draft);
    } else {
      if (!patch->IsArray()) {
        return ErrorResponse(Status::Invalid("'bundle_patch' must be a JSON Patch array"));
      }
      amendment.bundle_patch = json::Stringify(*patch);
    }
    result = deps.coordinator->AmendAndApprove(call.principal, id, amendment);
  } else if (action == "reject") {
    Status s = OnlyMembers(b, {"code", "text"});
    if (!s.ok()) return ErrorResponse(s);
    auto code = OptionalString(b, "code");
    auto text = OptionalString(b, "text");
    if (!code.ok()) return ErrorResponse(code.status());
    if (!text.ok()) return ErrorResponse(text.status());
    if (code->empty()) return ErrorResponse(Status::Invalid("'code' is required"));
    result = deps.coordinator->Reject(call.principal, id, core::RejectReason{*code, *text});
  } else if (action == "reassign") {
    Status s = OnlyMembers(b, {"owner", "reason"});
    if (!s.ok()) return ErrorResponse(s);
    auto owner = OptionalString(b, "owner");
    auto reason = OptionalString(b, "reason");
    if (!owner.ok()) return ErrorResponse(owner.status());
    if (!reason.ok()) return ErrorResponse(reason.status());
    if (owner->empty()) return ErrorResponse(Status::Invalid("'owner' is required"));
    result = deps.coordinator->Reassign(call.principal, id, *owner, *reason);
  } else if (action == "retry") {
    Status s = OnlyMembers(b, {"reason"});
    if (!s.ok()) return ErrorResponse(s);
    auto reason = OptionalString(b, "reason");
    if (!reason.ok()) return ErrorResponse(reason.status());
    if (reason->empty()) return ErrorResponse(Status::Invalid("'reason' is required"));
    result = deps.coordinator->RetryCommit(call.principal, id, *reason);
  } else {  // rebase
    Status s = OnlyMembers(b, {});
    if (!s.ok()) return ErrorResponse(s);
    if (!deps.read_current) {
      return ErrorResponse(Status::Unavailable("no FHIR server configured for rebase"));
    }
    result = deps.coordinator->Rebase(call.principal, id, deps.read_current);
    if (!result.ok() && deps.metrics && result.status().IsTransient()) {
      deps.metrics->CountServerError(ErrorKindName(result.status().kind()));
    }
  }
  if (!result.ok()) return ErrorResponse(result.status());
  // The final approval (or a retry) wrote an outbox entry: tell the commit worker now rather than at its
  // next poll (a poll interval would add up to worker.poll_ms to every commit).
  if (result->status == core::ProposalStatus::kApproved && deps.outbox_ready) deps.outbox_ready();
  return ProposalResponse(deps, 200, *result, false);
}

}  // namespace internal

}  // namespace countersign::daemon
