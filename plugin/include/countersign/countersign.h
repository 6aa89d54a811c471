/* Countersign C ABI: AI writes, clinicians decide.
 *
 * One stable C header for hosts that embed Countersign as a plugin (libcountersign.so). It
 * exposes the same operations, under the same rules, as the REST daemon and the CLI: every call
 * is executed by the same request handler, over the store and configuration named at open.
 *
 * Versioning: call cs_check_version(CS_API_VERSION) first; it fails with CS_VERSION_MISMATCH
 * when the library cannot serve this header (a header newer than the library, or not a version
 * at all). A library serves every older header: functions, enum values and struct members are
 * only ever appended, never changed or removed. Structs begin with a size field the caller sets
 * to sizeof(struct); the library writes only the members that fit, so old callers keep working.
 * Enums are 32-bit (each has a never-returned 0x7fffffff member to keep it so).
 *
 * Errors: every function returns a cs_status; CS_OK (0) is success. When `err` is not NULL it
 * is filled with the status, the HTTP status the REST surface would have answered (0 when none)
 * and a NUL-terminated message for people (empty on success). `err` may be NULL. A missing
 * required argument (NULL instance, token, id, out pointer) is CS_INVALID, and so is an `id`
 * that is not a proposal id (1-64 of A-Z a-z 0-9 - .). No C++ exception ever crosses this
 * boundary: an unexpected failure inside is CS_INTERNAL.
 *
 * Identity: the acting person or AI is authenticated from its API token (the config's hashed
 * `tokens`); a principal is never passed by name. An AI's token can never approve, amend or
 * reject.
 *
 * Ownership: strings returned through `char** out` are allocated by the library; free them with
 * cs_free. On error *out is set to NULL. Input strings are borrowed for the call only.
 *
 * Threading: a cs_instance may be used from several threads at once; cs_close must not race
 * with other calls on the same instance.
 *
 * Proposal JSON (what cs_submit, cs_get, cs_approve, cs_amend, cs_reject, cs_reassign and
 * cs_retry_commit return;
 * the same JSON as the REST daemon's /proposals, plugin/daemon/openapi.yaml):
 *   "id", "kind" (note | appointment | message), "action" (create | amend | cancel |
 *   reschedule | reply; mappings/README.md), "status" (pending | approved | committing |
 *   committed | rejected | expired | conflict | failed), "patient", "owner" ("Practitioner/x"
 *   or "queue:name"), "ai_principal", "revision" (0 = the AI's original), "created_at",
 *   "updated_at", "expires_at"? (ms since the Unix epoch), "encounter"?, "idempotency_key"?;
 *   members marked ? are absent when empty.
 *   cs_get adds the content: "draft", "bundle" (the pending FHIR transaction Bundle),
 *   "provenance", "patches" (JSON Patch of updates), "outcome"? (the server's OperationOutcome
 *   when failed), "revisions" [{revision, at, author, author_role, note?, draft?, patches?}],
 *   "approvals" [{revision, approver, role, at}], "history" [{seq, at, actor, actor_role?,
 *   event, from?, to?, reason_code?, reason_text?, detail?}].
 */
#ifndef COUNTERSIGN_COUNTERSIGN_H_
#define COUNTERSIGN_COUNTERSIGN_H_

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 1: the first release. 2: cs_retry_commit. 3: cs_approve_revision. */
#define CS_API_VERSION 3

/* Marks the exported functions (the library is built with hidden visibility otherwise). */
#if defined(__GNUC__)
#define CS_API __attribute__((visibility("default")))
#else
#define CS_API
#endif

typedef enum cs_status {
  CS_OK = 0,
  CS_NOT_FOUND = 1,
  CS_GONE = 2,
  CS_CONFLICT = 3,        /* version conflict or illegal status transition */
  CS_UNAUTHORIZED = 4,    /* no or unknown token */
  CS_FORBIDDEN = 5,       /* the principal's roles do not allow it; guardrails refused */
  CS_INVALID = 6,         /* bad input (draft, arguments, JSON) */
  CS_UNAVAILABLE = 7,     /* the FHIR server is busy or down */
  CS_TIMEOUT = 8,
  CS_NETWORK = 9,
  CS_UNSUPPORTED = 10,
  CS_ILLEGAL_STATE = 11,
  CS_TOO_LARGE = 12,
  CS_CORRUPTION = 13,
  CS_IO_ERROR = 14,
  CS_INTERNAL = 15,
  CS_VERSION_MISMATCH = 16,
  /* Append new codes above this line. */
  CS_STATUS_FORCE_INT32_ = 0x7fffffff /* never returned */
} cs_status;

/* Layout (append-only): struct_size at 0, then code, http_status, message. A caller that sets
 * struct_size smaller than the message's end gets only the members that fit; 0 gets nothing. */
typedef struct cs_error {
  size_t struct_size; /* set by the caller: sizeof(cs_error) */
  cs_status code;
  int http_status;    /* what the REST surface answers for the same failure; 0 when none */
  char message[512];  /* NUL-terminated, truncated if longer; never contains secrets */
} cs_error;

typedef struct cs_instance cs_instance;

/* The library's API version (CS_API_VERSION it was built with). */
CS_API int cs_api_version(void);
/* CS_OK when the library serves a header of `header_version` (1 <= header_version <=
 * cs_api_version()); CS_VERSION_MISMATCH otherwise. Call it first, with CS_API_VERSION. */
CS_API cs_status cs_check_version(int header_version);

/* Opens the instance described by a Countersign config file (see plugin/config/README.md):
 * the store is created if missing. *out receives the instance, to be closed with cs_close. */
CS_API cs_status cs_open(const char* config_path, cs_instance** out, cs_error* err);
/* Closes and frees the instance; NULL is ignored. */
CS_API void cs_close(cs_instance* instance);
/* Frees a string the library returned; NULL is ignored. */
CS_API void cs_free(char* s);

/* Submits an AI draft (JSON, format in mappings/README.md) as the token's principal (an AI).
 * *proposal_json: the new proposal's summary fields (Proposal JSON above). A draft with the
 * idempotency_key of an earlier one answers that proposal again when the draft is the same,
 * CS_CONFLICT when it differs. An invalid draft is CS_INVALID and stores nothing. */
CS_API cs_status cs_submit(cs_instance* instance, const char* token, const char* draft_json,
                           char** proposal_json, cs_error* err);
/* A page of the queue, oldest first, as the token's principal (a reviewer role; an AI sees
 * nothing: CS_FORBIDDEN). filter_json: NULL or an object of "owner", "status", "patient",
 * "kind", "created_before", "limit" (default 50, at most 1000) and "after" (a next_cursor),
 * each a string or a number; any other member is CS_INVALID. *page_json: {"items": [summary
 * fields...], "next_cursor"?, "next"?}. */
CS_API cs_status cs_list(cs_instance* instance, const char* token, const char* filter_json,
                         char** page_json, cs_error* err);
/* One proposal with its content: draft, pending Bundle, Provenance, patches, revisions,
 * approvals, history (Proposal JSON above). The view is audited. */
CS_API cs_status cs_get(cs_instance* instance, const char* token, const char* id,
                        char** proposal_json, cs_error* err);
/* Approves the revision current when the call arrives, as the token's principal (a role the
 * policy allows for the kind; never an AI: CS_FORBIDDEN). A proposal that is no longer pending
 * is CS_CONFLICT. note may be NULL. *proposal_json: the summary fields after the approval.
 * An amendment made after the host showed the proposal is approved too: a host that shows
 * content uses cs_approve_revision instead. */
CS_API cs_status cs_approve(cs_instance* instance, const char* token, const char* id,
                            const char* note, char** proposal_json, cs_error* err);
/* Amends the proposal as a new revision (the AI's original is kept) and approves it, under the
 * same rules as cs_approve. amendment_json: exactly one of {"draft": {...}} (an edited draft)
 * and {"bundle_patch": [...]} (JSON Patch on the pending Bundle), plus an optional "note";
 * anything else is CS_INVALID. */
CS_API cs_status cs_amend(cs_instance* instance, const char* token, const char* id,
                          const char* amendment_json, char** proposal_json, cs_error* err);
/* Rejects with a coded reason (one of the policy's reject_reasons, else CS_INVALID); text may
 * be NULL unless code is "other". A rejected proposal never reaches the FHIR server. */
CS_API cs_status cs_reject(cs_instance* instance, const char* token, const char* id,
                           const char* code, const char* text, char** proposal_json,
                           cs_error* err);
/* Gives the proposal a new owner ("Practitioner/x" or "queue:name") as a principal with one of
 * the policy's reassign_roles (else CS_FORBIDDEN). reason may be NULL. */
CS_API cs_status cs_reassign(cs_instance* instance, const char* token, const char* id,
                             const char* owner, const char* reason, char** proposal_json,
                             cs_error* err);
/* Commits approved proposals now (one pass of the commit engine over at most worker.batch of
 * them; the host decides when, the daemon's background worker is not running here).
 * *report_json: {"claimed": n, "outcomes": [{"proposal_id","status","detail"}]}; statuses are
 * committed | conflict | failed | retry-later (the FHIR server is unreachable or busy: the
 * proposal stays "committing" and a later call retries it). No token: committing is the
 * approvals' consequence, not a decision.
 * With task_mirror enabled in the config, one FHIR Task mirror pass follows (at most
 * task_mirror.batch audit records) and the report gains "mirror": {"records", "mirrored",
 * "refused", "stalled", "caught_up", "outcomes": [{"proposal_id", "status", "task_status",
 * "detail"}]} (status mirrored | refused | retry-later | skipped; caught_up false: call again),
 * or {"error", "kind"} when the pass could not run (e.g. "unsupported": the server cannot hold
 * the Tasks); the call itself still answers CS_OK for the commits. */
CS_API cs_status cs_commit_pending(cs_instance* instance, char** report_json, cs_error* err);
/* Expires every pending proposal past its deadline (the policy's expiry_minutes per kind); the
 * daemon does this on its own, a host calls it when it likes (e.g. with cs_commit_pending).
 * *expired receives how many were expired. */
CS_API cs_status cs_expire_due(cs_instance* instance, int* expired, cs_error* err);
/* Verifies the whole audit chain: *result_json {"ok": bool, "records": n, ...}. A broken chain
 * is CS_OK with "ok": false (the call worked; the chain did not). */
CS_API cs_status cs_audit_verify(cs_instance* instance, char** result_json, cs_error* err);
/* (API version 2) Queues a failed commit again once its cause is fixed, as a principal who may
 * approve the kind (never an AI: CS_FORBIDDEN); reason (what was fixed) is required. The next
 * cs_commit_pending first looks on the FHIR server for what earlier attempts wrote, so nothing
 * is duplicated. CS_CONFLICT unless the proposal is failed, or when the failed attempt marked
 * what it had created entered-in-error (submit the draft anew then). */
CS_API cs_status cs_retry_commit(cs_instance* instance, const char* token, const char* id,
                                 const char* reason, char** proposal_json, cs_error* err);
/* (API version 3) Approves `revision` (the "revision" of the Proposal JSON the approver was
 * shown), under the same rules as cs_approve. CS_CONFLICT, and nothing changes, when the
 * proposal is at another revision (amended or re-based since): show it again. A negative
 * revision is CS_INVALID. With a two-approver rule each approval counts for its revision only;
 * an amendment starts the count again. */
CS_API cs_status cs_approve_revision(cs_instance* instance, const char* token, const char* id,
                                     long long revision, const char* note, char** proposal_json,
                                     cs_error* err);

#ifdef __cplusplus
}
#endif

#endif /* COUNTERSIGN_COUNTERSIGN_H_ */
