/* Countersign C ABI: AI writes, clinicians decide.
 *
 * One stable C header for hosts that embed Countersign as a plugin (libcountersign.so). It
 * exposes the same operations, under the same rules, as the REST daemon and the CLI: every call
 * is executed by the same request handler, over the store and configuration named at open.
 *
 * Versioning: call cs_check_version(CS_API_VERSION) first; it fails with CS_VERSION_MISMATCH
 * when the library cannot serve this header. Enum values and struct layouts are append-only;
 * structs begin with a size field the caller sets to sizeof(struct), so old callers keep working.
 *
 * Errors: every function returns a cs_status; CS_OK (0) is success. When `err` is not NULL it
 * is filled with the status, the HTTP status the REST surface would have answered (0 when none)
 * and a NUL-terminated message for people. No C++ exception ever crosses this boundary.
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
 */
#ifndef COUNTERSIGN_COUNTERSIGN_H_
#define COUNTERSIGN_COUNTERSIGN_H_

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CS_API_VERSION 1

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
  CS_VERSION_MISMATCH = 16
} cs_status;

typedef struct cs_error {
  size_t struct_size; /* set by the caller: sizeof(cs_error) */
  cs_status code;
  int http_status;    /* what the REST surface answers for the same failure; 0 when none */
  char message[512];  /* NUL-terminated, truncated if longer; never contains secrets */
} cs_error;

typedef struct cs_instance cs_instance;

/* The library's API version (CS_API_VERSION it was built with). */
CS_API int cs_api_version(void);
/* CS_OK when the library serves a header of `header_version`; CS_VERSION_MISMATCH otherwise. */
CS_API cs_status cs_check_version(int header_version);

/* Opens the instance described by a Countersign config file (see plugin/config/README.md):
 * the store is created if missing. *out receives the instance, to be closed with cs_close. */
CS_API cs_status cs_open(const char* config_path, cs_instance** out, cs_error* err);
/* Closes and frees the instance; NULL is ignored. */
CS_API void cs_close(cs_instance* instance);
/* Frees a string the library returned; NULL is ignored. */
CS_API void cs_free(char* s);

/* Submits an AI draft (JSON, format in mappings/README.md) as the token's principal.
 * *proposal_json: the stored proposal (same JSON as GET /proposals/{id}). */
CS_API cs_status cs_submit(cs_instance* instance, const char* token, const char* draft_json,
                    char** proposal_json, cs_error* err);
/* A page of the queue. filter_json: NULL or {"owner","status","patient","kind","limit","after"}
 * (strings; limit a number or string). *page_json: {"items":[...], "next_cursor"?}. */
CS_API cs_status cs_list(cs_instance* instance, const char* token, const char* filter_json,
                  char** page_json, cs_error* err);
/* One proposal with its draft, pending Bundle, Provenance and history (the view is audited). */
CS_API cs_status cs_get(cs_instance* instance, const char* token, const char* id, char** proposal_json,
                 cs_error* err);
/* Approves the current revision. note may be NULL. */
CS_API cs_status cs_approve(cs_instance* instance, const char* token, const char* id, const char* note,
                     char** proposal_json, cs_error* err);
/* Amends then approves. amendment_json: {"draft": {...}} or {"bundle_patch": [...]}, plus an
 * optional "note". */
CS_API cs_status cs_amend(cs_instance* instance, const char* token, const char* id,
                   const char* amendment_json, char** proposal_json, cs_error* err);
/* Rejects with a coded reason (the policy's reject_reasons); text may be NULL unless code is
 * "other". */
CS_API cs_status cs_reject(cs_instance* instance, const char* token, const char* id, const char* code,
                    const char* text, char** proposal_json, cs_error* err);
/* Gives the proposal a new owner ("Practitioner/x" or "queue:name"). */
CS_API cs_status cs_reassign(cs_instance* instance, const char* token, const char* id,
                      const char* owner, const char* reason, char** proposal_json, cs_error* err);
/* Commits approved proposals now (one pass of the commit engine; the host decides when).
 * *report_json: {"claimed": n, "outcomes": [{"proposal_id","status","detail"}]}; statuses are
 * committed | conflict | failed | retry-later. */
CS_API cs_status cs_commit_pending(cs_instance* instance, char** report_json, cs_error* err);
/* Verifies the whole audit chain: *result_json {"ok": bool, "records": n, ...}. A broken chain
 * is CS_OK with "ok": false (the call worked; the chain did not). */
CS_API cs_status cs_audit_verify(cs_instance* instance, char** result_json, cs_error* err);

#ifdef __cplusplus
}
#endif

#endif /* COUNTERSIGN_COUNTERSIGN_H_ */
