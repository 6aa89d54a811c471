// The C ABI (plugin/include/countersign/countersign.h) over the same Api the REST daemon serves:
// each call becomes one in-process request, so rules, identity and JSON are the daemon's own.
// Every entry point catches everything: no exception crosses the boundary.
#include "countersign/countersign.h"

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "fhir/operation_outcome.h"
#include "plugin/config/service.h"
#include "plugin/core/store.h"
#include "plugin/daemon/api.h"

struct cs_instance {
  std::unique_ptr<countersign::config::Service> service;
  std::unique_ptr<countersign::daemon::Api> api;
};

namespace {

using countersign::ErrorKind;
using countersign::Status;
namespace json = countersign::json;

cs_status StatusFor(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kOk: return CS_OK;
    case ErrorKind::kNotFound: return CS_NOT_FOUND;
    case ErrorKind::kGone: return CS_GONE;
    case ErrorKind::kConflict: return CS_CONFLICT;
    case ErrorKind::kUnauthorized: return CS_UNAUTHORIZED;
    case ErrorKind::kForbidden: return CS_FORBIDDEN;
    case ErrorKind::kInvalid: return CS_INVALID;
    case ErrorKind::kUnavailable: return CS_UNAVAILABLE;
    case ErrorKind::kTimeout: return CS_TIMEOUT;
    case ErrorKind::kNetwork: return CS_NETWORK;
    case ErrorKind::kUnsupported: return CS_UNSUPPORTED;
    case ErrorKind::kIllegalState: return CS_ILLEGAL_STATE;
    case ErrorKind::kTooLarge: return CS_TOO_LARGE;
    case ErrorKind::kCorruption: return CS_CORRUPTION;
    case ErrorKind::kIoError: return CS_IO_ERROR;
    case ErrorKind::kInternal: return CS_INTERNAL;
  }
  return CS_INTERNAL;
}

cs_status StatusForHttp(int http) {
  switch (http) {
    case 400: case 415: case 428: return CS_INVALID;
    case 401: return CS_UNAUTHORIZED;
    case 403: case 422: return CS_FORBIDDEN;
    case 404: return CS_NOT_FOUND;
    case 409: return CS_CONFLICT;
    case 410: return CS_GONE;
    case 413: return CS_TOO_LARGE;
    case 503: return CS_UNAVAILABLE;
    default: return http >= 200 && http < 300 ? CS_OK : CS_INTERNAL;
  }
}

std::string FirstIssueCode(const json::Value& outcome) {
  const json::Value* issues = json::Member(outcome, "issue");
  if (issues == nullptr || !issues->IsArray() || issues->Empty()) return {};
  return std::string(json::GetString((*issues)[0], "code").value_or(""));
}

// Fills err as far as the caller's struct reaches (append-only layout).
cs_status Report(cs_error* err, cs_status code, int http, const std::string& message) {
  if (err == nullptr) return code;
  size_t size = err->struct_size;
  if (size >= offsetof(cs_error, code) + sizeof(err->code)) err->code = code;
  if (size >= offsetof(cs_error, http_status) + sizeof(err->http_status)) err->http_status = http;
  if (size >= offsetof(cs_error, message) + sizeof(err->message)) {
    std::snprintf(err->message, sizeof(err->message), "%s", message.c_str());
  }
  return code;
}

cs_status Fail(cs_error* err, const Status& s) {
  return Report(err, StatusFor(s.kind()), s.http_status(), s.ToString());
}

char* Dup(const std::string& s) {
  char* out = static_cast<char*>(std::malloc(s.size() + 1));
  if (out != nullptr) std::memcpy(out, s.c_str(), s.size() + 1);
  return out;
}

// One request through the Api as the token's principal.
cs_status Call(cs_instance* inst, const char* token, std::string method, std::string path,
               std::string body, const std::map<std::string, std::string>& query, char** out,
               cs_error* err) {
  if (out != nullptr) *out = nullptr;
  if (inst == nullptr || token == nullptr || out == nullptr) {
    return Report(err, CS_INVALID, 0, "instance, token and out are required");
  }
  countersign::daemon::HttpServerRequest req;
  req.method = std::move(method);
  req.path = std::move(path);
  req.query = query;
  req.headers["Authorization"] = std::string("Bearer ") + token;
  if (!body.empty()) req.headers["Content-Type"] = "application/json";
  req.body = std::move(body);
  req.remote_address = "c-abi";
  auto resp = inst->api->Handle(req);
  if (resp.status >= 200 && resp.status < 300) {
    *out = Dup(resp.body);
    if (*out == nullptr) return Report(err, CS_INTERNAL, 0, "out of memory");
    return Report(err, CS_OK, resp.status, "");
  }
  std::string message = "HTTP " + std::to_string(resp.status);
  cs_status code = StatusForHttp(resp.status);
  auto oo = json::Parse(resp.body, 64);
  if (oo.ok()) {
    std::string summary = countersign::fhir::SummarizeOperationOutcome(*oo);
    if (!summary.empty()) message += ": " + summary;
    // 422 answers both a guardrail refusal and an idempotency key reused with another draft;
    // the issue code tells them apart.
    if (resp.status == 422 && FirstIssueCode(*oo) == "conflict") code = CS_CONFLICT;
  }
  return Report(err, code, resp.status, message);
}

// Proposal ids become a path segment: only FHIR id characters, so no id reaches another route.
bool ValidId(const char* id) {
  if (id == nullptr) return false;
  std::string_view s(id);
  if (s.empty() || s.size() > 64 || s == "." || s == "..") return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

cs_status BadId(cs_error* err) {
  return Report(err, CS_INVALID, 400, "id: a proposal id is required (1-64 of A-Z a-z 0-9 - .)");
}

std::string JsonObject(std::initializer_list<std::pair<const char*, const char*>> fields) {
  json::Document d(rapidjson::kObjectType);
  for (const auto& [k, v] : fields) {
    if (v != nullptr && *v != '\0') json::SetString(d, k, v, d.GetAllocator());
  }
  return json::Stringify(d);
}

// {"revision": n, "note"?: note}
std::string ApproveBody(int64_t revision, const char* note) {
  json::Document d(rapidjson::kObjectType);
  json::Set(d, "revision", json::Value(revision), d.GetAllocator());
  if (note != nullptr && *note != '\0') json::SetString(d, "note", note, d.GetAllocator());
  return json::Stringify(d);
}

template <typename F>
cs_status Guarded(cs_error* err, F&& body) {
  try {
    return body();
  } catch (const std::exception& e) {
    return Report(err, CS_INTERNAL, 0, std::string("internal error: ") + e.what());
  } catch (...) {
    return Report(err, CS_INTERNAL, 0, "internal error");
  }
}

// The mirror pass in cs_commit_pending's report. A failed pass is reported here, not as the
// call's status: the commits it reports did happen.
json::Value MirrorJson(const countersign::Result<countersign::commit::MirrorReport>& r,
                       json::Allocator& a) {
  json::Value m(rapidjson::kObjectType);
  if (!r.ok()) {
    json::SetString(m, "error", r.status().ToString(), a);
    json::SetString(m, "kind", countersign::ErrorKindName(r.status().kind()), a);
    return m;
  }
  json::Set(m, "records", json::Value(r->records), a);
  json::Set(m, "mirrored", json::Value(r->mirrored), a);
  json::Set(m, "refused", json::Value(r->refused), a);
  json::Set(m, "stalled", json::Value(r->stalled), a);
  json::Set(m, "caught_up", json::Value(r->caught_up), a);
  json::Value outcomes(rapidjson::kArrayType);
  for (const auto& o : r->outcomes) {
    json::Value item(rapidjson::kObjectType);
    json::SetString(item, "proposal_id", o.proposal_id, a);
    json::SetString(item, "status", o.status, a);
    if (!o.task_status.empty()) json::SetString(item, "task_status", o.task_status, a);
    json::SetString(item, "detail", o.detail, a);
    outcomes.PushBack(item, a);
  }
  json::Set(m, "outcomes", std::move(outcomes), a);
  return m;
}

}  // namespace

extern "C" {

int cs_api_version(void) { return CS_API_VERSION; }

cs_status cs_check_version(int header_version) {
  // Everything is append-only, so this library serves every header up to its own version.
  return header_version >= 1 && header_version <= CS_API_VERSION ? CS_OK : CS_VERSION_MISMATCH;
}

cs_status cs_open(const char* config_path, cs_instance** out, cs_error* err) {
  return Guarded(err, [&]() -> cs_status {
    if (out == nullptr) return Report(err, CS_INVALID, 0, "out is required");
    *out = nullptr;
    if (config_path == nullptr) return Report(err, CS_INVALID, 0, "config_path is required");
    auto cfg = countersign::config::Config::Load(config_path);
    if (!cfg.ok()) return Fail(err, cfg.status());
    auto service = countersign::config::Service::Open(*cfg);
    if (!service.ok()) return Fail(err, service.status());
    auto inst = std::make_unique<cs_instance>();
    inst->service = std::move(service).value();
    countersign::config::Service* s = inst->service.get();
    countersign::daemon::ApiDeps deps;
    deps.coordinator = &s->coordinator();
    deps.store = &s->store();
    deps.policy = &s->policy();
    deps.authenticate = [s](std::string_view token) { return s->Authenticate(token); };
    deps.read_current = [s](const std::string& ref) { return s->ReadCurrent(ref); };
    deps.log = [](const std::string&) {};  // the host owns logging
    deps.limits.max_body_bytes = cfg->max_body_bytes;
    deps.limits.max_json_depth = cfg->max_json_depth;
    inst->api = std::make_unique<countersign::daemon::Api>(deps);
    *out = inst.release();
    return Report(err, CS_OK, 0, "");
  });
}

void cs_close(cs_instance* instance) {
  try {
    delete instance;
  } catch (...) {
  }
}

void cs_free(char* s) { std::free(s); }

cs_status cs_submit(cs_instance* instance, const char* token, const char* draft_json,
                    char** proposal_json, cs_error* err) {
  return Guarded(err, [&] {
    if (proposal_json != nullptr) *proposal_json = nullptr;
    if (draft_json == nullptr) return Report(err, CS_INVALID, 0, "draft_json is required");
    return Call(instance, token, "POST", "/drafts", draft_json, {}, proposal_json, err);
  });
}

cs_status cs_list(cs_instance* instance, const char* token, const char* filter_json,
                  char** page_json, cs_error* err) {
  return Guarded(err, [&] {
    if (page_json != nullptr) *page_json = nullptr;
    std::map<std::string, std::string> query;
    if (filter_json != nullptr) {
      auto f = json::Parse(filter_json, 8);
      if (!f.ok() || !f->IsObject()) {
        return Report(err, CS_INVALID, 400, "filter_json must be a JSON object");
      }
      for (const auto& m : f->GetObject()) {
        std::string name(m.name.GetString(), m.name.GetStringLength());
        if (m.value.IsString()) {
          query[name] = std::string(m.value.GetString(), m.value.GetStringLength());
        } else if (m.value.IsInt64()) {
          query[name] = std::to_string(m.value.GetInt64());
        } else {
          return Report(err, CS_INVALID, 400, "filter " + name + ": expected a string or a number");
        }
      }
    }
    return Call(instance, token, "GET", "/proposals", "", query, page_json, err);
  });
}

cs_status cs_get(cs_instance* instance, const char* token, const char* id, char** proposal_json,
                 cs_error* err) {
  return Guarded(err, [&] {
    if (proposal_json != nullptr) *proposal_json = nullptr;
    if (!ValidId(id)) return BadId(err);
    return Call(instance, token, "GET", std::string("/proposals/") + id, "", {}, proposal_json,
                err);
  });
}

cs_status cs_approve(cs_instance* instance, const char* token, const char* id, const char* note,
                     char** proposal_json, cs_error* err) {
  return Guarded(err, [&] {
    if (proposal_json != nullptr) *proposal_json = nullptr;
    if (!ValidId(id)) return BadId(err);
    if (instance == nullptr) return Report(err, CS_INVALID, 0, "instance is required");
    // The version 1 contract: whatever revision is current now. Read here without an audited
    // view (only the number is used); the request itself is authenticated and authorized.
    auto current = instance->service->store().GetProposal(id);
    int64_t revision = current.ok() ? current->revision : 0;
    return Call(instance, token, "POST", std::string("/proposals/") + id + "/approve",
                ApproveBody(revision, note), {}, proposal_json, err);
  });
}

cs_status cs_approve_revision(cs_instance* instance, const char* token, const char* id,
                              long long revision, const char* note, char** proposal_json,
                              cs_error* err) {
  return Guarded(err, [&] {
    if (proposal_json != nullptr) *proposal_json = nullptr;
    if (!ValidId(id)) return BadId(err);
    if (revision < 0) return Report(err, CS_INVALID, 400, "revision must be >= 0");
    return Call(instance, token, "POST", std::string("/proposals/") + id + "/approve",
                ApproveBody(static_cast<int64_t>(revision), note), {}, proposal_json, err);
  });
}

cs_status cs_amend(cs_instance* instance, const char* token, const char* id,
                   const char* amendment_json, char** proposal_json, cs_error* err) {
  return Guarded(err, [&] {
    if (proposal_json != nullptr) *proposal_json = nullptr;
    if (!ValidId(id)) return BadId(err);
    if (amendment_json == nullptr) {
      return Report(err, CS_INVALID, 400, "amendment_json is required");
    }
    return Call(instance, token, "POST", std::string("/proposals/") + id + "/amend", amendment_json,
                {}, proposal_json, err);
  });
}

cs_status cs_reject(cs_instance* instance, const char* token, const char* id, const char* code,
                    const char* text, char** proposal_json, cs_error* err) {
  return Guarded(err, [&] {
    if (proposal_json != nullptr) *proposal_json = nullptr;
    if (!ValidId(id)) return BadId(err);
    return Call(instance, token, "POST", std::string("/proposals/") + id + "/reject",
                JsonObject({{"code", code}, {"text", text}}), {}, proposal_json, err);
  });
}

cs_status cs_reassign(cs_instance* instance, const char* token, const char* id,
                      const char* owner, const char* reason, char** proposal_json, cs_error* err) {
  return Guarded(err, [&] {
    if (proposal_json != nullptr) *proposal_json = nullptr;
    if (!ValidId(id)) return BadId(err);
    return Call(instance, token, "POST", std::string("/proposals/") + id + "/reassign",
                JsonObject({{"owner", owner}, {"reason", reason}}), {}, proposal_json, err);
  });
}

cs_status cs_retry_commit(cs_instance* instance, const char* token, const char* id,
                          const char* reason, char** proposal_json, cs_error* err) {
  return Guarded(err, [&] {
    if (proposal_json != nullptr) *proposal_json = nullptr;
    if (!ValidId(id)) return BadId(err);
    return Call(instance, token, "POST", std::string("/proposals/") + id + "/retry",
                JsonObject({{"reason", reason}}), {}, proposal_json, err);
  });
}

cs_status cs_commit_pending(cs_instance* instance, char** report_json, cs_error* err) {
  return Guarded(err, [&]() -> cs_status {
    if (report_json != nullptr) *report_json = nullptr;
    if (instance == nullptr || report_json == nullptr) {
      return Report(err, CS_INVALID, 0, "instance and report_json are required");
    }
    auto report = instance->service->commit_engine().RunOnce();
    if (!report.ok()) return Fail(err, report.status());
    json::Document d(rapidjson::kObjectType);
    auto& a = d.GetAllocator();
    json::Set(d, "claimed", json::Value(report->claimed), a);
    json::Value outcomes(rapidjson::kArrayType);
    for (const auto& o : report->outcomes) {
      json::Value item(rapidjson::kObjectType);
      json::SetString(item, "proposal_id", o.proposal_id, a);
      json::SetString(item, "status", o.status, a);
      json::SetString(item, "detail", o.detail, a);
      outcomes.PushBack(item, a);
    }
    json::Set(d, "outcomes", std::move(outcomes), a);
    // Appended member (the report only grows): one Task mirror pass when it is configured.
    if (countersign::commit::TaskMirror* mirror = instance->service->task_mirror()) {
      json::Set(d, "mirror", MirrorJson(mirror->RunOnce(), a), a);
    }
    *report_json = Dup(json::Stringify(d));
    return Report(err, CS_OK, 0, "");
  });
}

cs_status cs_expire_due(cs_instance* instance, int* expired, cs_error* err) {
  return Guarded(err, [&]() -> cs_status {
    if (expired != nullptr) *expired = 0;
    if (instance == nullptr || expired == nullptr) {
      return Report(err, CS_INVALID, 0, "instance and expired are required");
    }
    auto n = instance->service->coordinator().ExpireDue();
    if (!n.ok()) return Fail(err, n.status());
    *expired = *n;
    return Report(err, CS_OK, 0, "");
  });
}

cs_status cs_audit_verify(cs_instance* instance, char** result_json, cs_error* err) {
  return Guarded(err, [&]() -> cs_status {
    if (result_json != nullptr) *result_json = nullptr;
    if (instance == nullptr || result_json == nullptr) {
      return Report(err, CS_INVALID, 0, "instance and result_json are required");
    }
    auto v = countersign::core::VerifyAudit(instance->service->store());
    if (!v.ok()) return Fail(err, v.status());
    json::Document d(rapidjson::kObjectType);
    auto& a = d.GetAllocator();
    json::Set(d, "ok", json::Value(v->ok), a);
    json::Set(d, "records", json::Value(static_cast<int64_t>(v->records)), a);
    if (!v->ok) {
      json::Set(d, "first_broken_seq", json::Value(static_cast<int64_t>(v->first_broken)), a);
      json::SetString(d, "reason", v->reason, a);
    }
    *result_json = Dup(json::Stringify(d));
    return Report(err, CS_OK, 0, "");
  });
}

}  // extern "C"
