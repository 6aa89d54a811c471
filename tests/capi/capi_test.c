/* The C ABI from plain C: compiled against the header only, the library loaded with dlopen, the
 * whole flow run as a host would: version check; error paths; open; submit a note, an
 * appointment and a message as the AIs; list; get; approve (refused for the AI, accepted for a
 * clinician); reassign and amend as the front desk; reject; expire; commit pending; host
 * threads submitting at once; audit verify; close. Also: the frozen layout and values of the
 * ABI, bad configs named by JSON path, NULL and malformed arguments.
 *
 * Commit pending: with COUNTERSIGN_TEST_FHIR_URL set (tests/capi/with_fhir_server.sh starts the
 * loopback FHIR test server) the two approved proposals are committed and read back from the
 * server, and the rejected one is shown never to have reached it; without it the FHIR server is
 * unreachable and the commits are kept for a later retry. */
#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "countersign/countersign.h"

/* The ABI's layout and values are frozen: a change here is a break for every built host. */
_Static_assert(sizeof(cs_status) == 4, "cs_status is 32-bit");
_Static_assert(offsetof(cs_error, struct_size) == 0, "cs_error.struct_size leads");
_Static_assert(offsetof(cs_error, code) == sizeof(size_t), "cs_error.code");
_Static_assert(offsetof(cs_error, http_status) == sizeof(size_t) + 4, "cs_error.http_status");
_Static_assert(offsetof(cs_error, message) == sizeof(size_t) + 8, "cs_error.message");
_Static_assert(sizeof(((cs_error*)0)->message) == 512, "cs_error.message size");
_Static_assert(CS_OK == 0 && CS_NOT_FOUND == 1 && CS_GONE == 2 && CS_CONFLICT == 3 &&
                   CS_UNAUTHORIZED == 4 && CS_FORBIDDEN == 5 && CS_INVALID == 6 &&
                   CS_UNAVAILABLE == 7 && CS_TIMEOUT == 8 && CS_NETWORK == 9 &&
                   CS_UNSUPPORTED == 10 && CS_ILLEGAL_STATE == 11 && CS_TOO_LARGE == 12 &&
                   CS_CORRUPTION == 13 && CS_IO_ERROR == 14 && CS_INTERNAL == 15 &&
                   CS_VERSION_MISMATCH == 16,
               "cs_status values are stable");

static int failures = 0;
#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      failures++;                                                              \
    }                                                                          \
  } while (0)
/* A call expected to answer `want`; prints the library's message when it does not. */
#define EXPECT(call, want)                                                                   \
  do {                                                                                       \
    cs_status got_ = (call);                                                                 \
    if (got_ != (want)) {                                                                    \
      fprintf(stderr, "%s:%d: %s = %d, want %d (%s)\n", __FILE__, __LINE__, #call, (int)got_, \
              (int)(want), err.message);                                                     \
      failures++;                                                                            \
    }                                                                                        \
  } while (0)

/* The library's functions, looked up by name as a host that dlopens it would. */
static struct {
  int (*api_version)(void);
  cs_status (*check_version)(int);
  cs_status (*open)(const char*, cs_instance**, cs_error*);
  void (*close)(cs_instance*);
  void (*free)(char*);
  cs_status (*submit)(cs_instance*, const char*, const char*, char**, cs_error*);
  cs_status (*list)(cs_instance*, const char*, const char*, char**, cs_error*);
  cs_status (*get)(cs_instance*, const char*, const char*, char**, cs_error*);
  cs_status (*approve)(cs_instance*, const char*, const char*, const char*, char**, cs_error*);
  cs_status (*amend)(cs_instance*, const char*, const char*, const char*, char**, cs_error*);
  cs_status (*reject)(cs_instance*, const char*, const char*, const char*, const char*, char**,
                      cs_error*);
  cs_status (*reassign)(cs_instance*, const char*, const char*, const char*, const char*, char**,
                        cs_error*);
  cs_status (*commit_pending)(cs_instance*, char**, cs_error*);
  cs_status (*expire_due)(cs_instance*, int*, cs_error*);
  cs_status (*audit_verify)(cs_instance*, char**, cs_error*);
  cs_status (*retry_commit)(cs_instance*, const char*, const char*, const char*, char**,
                            cs_error*);
  cs_status (*approve_revision)(cs_instance*, const char*, const char*, long long, const char*,
                                char**, cs_error*);
} cs;

static cs_error err;

static void* must(void* lib, const char* name) {
  void* f = dlsym(lib, name);
  if (f == NULL) {
    fprintf(stderr, "missing symbol %s\n", name);
    exit(2);
  }
  return f;
}

/* Object pointers to function pointers go through memcpy: ISO C has no direct cast. */
#define LOAD(field, name)                 \
  do {                                    \
    void* sym_ = must(lib, name);         \
    memcpy(&cs.field, &sym_, sizeof sym_); \
  } while (0)

static void load(void* lib) {
  LOAD(api_version, "cs_api_version");
  LOAD(check_version, "cs_check_version");
  LOAD(open, "cs_open");
  LOAD(close, "cs_close");
  LOAD(free, "cs_free");
  LOAD(submit, "cs_submit");
  LOAD(list, "cs_list");
  LOAD(get, "cs_get");
  LOAD(approve, "cs_approve");
  LOAD(amend, "cs_amend");
  LOAD(reject, "cs_reject");
  LOAD(reassign, "cs_reassign");
  LOAD(commit_pending, "cs_commit_pending");
  LOAD(expire_due, "cs_expire_due");
  LOAD(audit_verify, "cs_audit_verify");
  LOAD(retry_commit, "cs_retry_commit");
  LOAD(approve_revision, "cs_approve_revision");
}

static char* read_file(const char* path) {
  FILE* f = fopen(path, "rb");
  if (f == NULL) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char* buf = malloc((size_t)n + 1);
  size_t got = fread(buf, 1, (size_t)n, f);
  buf[got] = '\0';
  fclose(f);
  return buf;
}

static char* fixture_draft(const char* name) {
  char path[512];
  snprintf(path, sizeof path, "%s/fixtures/drafts/%s", COUNTERSIGN_SOURCE_DIR, name);
  char* text = read_file(path);
  if (text == NULL) {
    fprintf(stderr, "cannot read %s\n", path);
    exit(2);
  }
  return text;
}

/* s with the first `from` replaced by `to` (malloc'ed). */
static char* replace(const char* s, const char* from, const char* to) {
  const char* at = strstr(s, from);
  size_t n = strlen(s) + strlen(to) + 1;
  char* out = malloc(n);
  if (at == NULL) {
    snprintf(out, n, "%s", s);
  } else {
    snprintf(out, n, "%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
  }
  return out;
}

/* The "id" of a proposal JSON (its first "id" member). */
static void id_of(const char* json, char* out, size_t size) {
  const char* p = json ? strstr(json, "\"id\":\"") : NULL;
  out[0] = '\0';
  if (p == NULL) return;
  p += 6;
  size_t i = 0;
  while (p[i] && p[i] != '"' && i + 1 < size) {
    out[i] = p[i];
    i++;
  }
  out[i] = '\0';
}

/* Whether out (a string the library returned) contains want; frees out. */
static int has(char* out, const char* want) {
  int found = out != NULL && strstr(out, want) != NULL;
  if (!found) fprintf(stderr, "expected %s in: %.400s\n", want, out ? out : "(null)");
  cs.free(out);
  return found;
}

/* The sample config with absolute paths, a temporary store and the given FHIR base URL, then
 * `edit` (a sed expression, or "") applied. */
static void write_config(const char* dir, const char* fhir_url, const char* edit, char* path,
                         size_t size) {
  char cmd[4096];
  const char* src = COUNTERSIGN_SOURCE_DIR;
  snprintf(path, size, "%s/countersign.json", dir);
  snprintf(cmd, sizeof cmd,
           "sed -e 's#\"principals.json\"#\"%s/fixtures/config/principals.json\"#' "
           "-e 's#\"approval-policy.json\"#\"%s/fixtures/config/approval-policy.json\"#' "
           "-e 's#\"guardrails.json\"#\"%s/fixtures/config/guardrails.json\"#' "
           "-e 's#\"../../mappings/rules\"#\"%s/mappings/rules\"#' "
           "-e 's#\"countersign.db\"#\"%s/store.db\"#' "
           "-e 's#http://127.0.0.1:8103/fhir/R4#%s#' "
           "-e 's#\"max_attempts\": 4#\"max_attempts\": 1#' "
           "-e '%s' "
           "%s/fixtures/config/countersign.json > %s",
           src, src, src, src, dir, fhir_url, edit[0] ? edit : "s/^//", src, path);
  CHECK(system(cmd) == 0);
}

/* GET url through curl (the test has no HTTP client of its own); malloc'ed body or NULL. */
static char* http_get(const char* url) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "curl -sf --max-time 10 '%s'", url);
  FILE* p = popen(cmd, "r");
  if (p == NULL) return NULL;
  size_t cap = 1 << 16, len = 0;
  char* buf = malloc(cap);
  size_t n;
  while ((n = fread(buf + len, 1, cap - len - 1, p)) > 0) {
    len += n;
    if (len + 1 == cap) buf = realloc(buf, cap *= 2);
  }
  buf[len] = '\0';
  if (pclose(p) != 0) {
    free(buf);
    return NULL;
  }
  return buf;
}

static void version_and_error_paths(const char* dir) {
  CHECK(cs.api_version() == CS_API_VERSION);
  CHECK(cs.check_version(CS_API_VERSION) == CS_OK);
  CHECK(cs.check_version(CS_API_VERSION + 1) == CS_VERSION_MISMATCH);
  CHECK(cs.check_version(0) == CS_VERSION_MISMATCH);

  /* Nothing opens; every failure has a code and a message. */
  cs_instance* inst = (cs_instance*)&err; /* not NULL: cs_open must clear it */
  CHECK(cs.open("/nonexistent/countersign.json", &inst, &err) != CS_OK);
  CHECK(inst == NULL);
  CHECK(err.code != CS_OK && strstr(err.message, "/nonexistent/countersign.json") != NULL);
  EXPECT(cs.open(NULL, &inst, &err), CS_INVALID);
  CHECK(err.code == CS_INVALID && strlen(err.message) > 0);
  EXPECT(cs.open("/nonexistent/countersign.json", NULL, &err), CS_INVALID);
  CHECK(cs.open(NULL, &inst, NULL) == CS_INVALID); /* err may be NULL */

  /* A bad config: CS_INVALID naming the JSON path of the problem. */
  static const struct {
    const char* edit; /* sed expression on the sample config */
    const char* message;
  } bad[] = {
      {"s#^{$#{\"colour\": 1,#", "colour: unknown key"},
      {"s#\"verify\": true#\"verify\": \"yes\"#", "fhir.tls.verify: expected a boolean"},
      {"s#\"tls\"#\"auth\": {\"bearer_token\": \"t\", \"basic_user\": \"u\", "
       "\"basic_password_env\": \"HOME\"}, \"tls\"#",
       "fhir.auth: a bearer token or basic credentials, not both"},
      {"s#\"principal\": \"Practitioner/fd-sam\"#\"principal\": \"Practitioner/nobody\"#",
       "tokens[4].principal: unknown principal"},
      {"s#30cf79cec76844930382803cc952aa8a185ea0f4771661920eebe3e774829306#"
       "aa892c3d12f96daea9aee2a9f8ed379211f145eb3168b36f4c437ea7affd04e2#",
       "tokens[3].sha256: the same token as tokens[2]"},
      {"s#\"backend\": \"sqlite\"#\"backend\": \"postgres\"#",
       "store.postgres: required with backend \"postgres\""},
      {"s#\"127.0.0.1:8400\"#\"127.0.0.1:84x\"#", "server.listen"},
  };
  char path[512];
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
    write_config(dir, "http://127.0.0.1:1/fhir/R4", bad[i].edit, path, sizeof path);
    EXPECT(cs.open(path, &inst, &err), CS_INVALID);
    if (strstr(err.message, bad[i].message) == NULL) {
      fprintf(stderr, "expected \"%s\" in: %s\n", bad[i].message, err.message);
      failures++;
    }
    CHECK(inst == NULL);
  }

  /* A caller with an older, smaller cs_error: only the members it has are written. */
  struct {
    size_t struct_size;
    cs_status code;
  } small = {sizeof small, CS_OK};
  CHECK(cs.open(NULL, &inst, (cs_error*)&small) == CS_INVALID && small.code == CS_INVALID);
}

static void null_arguments(cs_instance* inst) {
  char* out = (char*)"untouched";
  int n = -1;
  EXPECT(cs.submit(NULL, "demo-ai-scribe-token", "{}", &out, &err), CS_INVALID);
  CHECK(out == NULL);
  EXPECT(cs.submit(inst, NULL, "{}", &out, &err), CS_INVALID);
  EXPECT(cs.submit(inst, "demo-ai-scribe-token", NULL, &out, &err), CS_INVALID);
  EXPECT(cs.submit(inst, "demo-ai-scribe-token", "{}", NULL, &err), CS_INVALID);
  EXPECT(cs.list(inst, "demo-dr-ada-token", NULL, NULL, &err), CS_INVALID);
  EXPECT(cs.get(inst, "demo-dr-ada-token", NULL, &out, &err), CS_INVALID);
  EXPECT(cs.approve(inst, "demo-dr-ada-token", NULL, NULL, &out, &err), CS_INVALID);
  EXPECT(cs.amend(inst, "demo-dr-ada-token", "x", NULL, &out, &err), CS_INVALID);
  EXPECT(cs.reject(NULL, "demo-dr-ada-token", "x", "other", "t", &out, &err), CS_INVALID);
  EXPECT(cs.reassign(inst, NULL, "x", "queue:front-desk", NULL, &out, &err), CS_INVALID);
  EXPECT(cs.commit_pending(NULL, &out, &err), CS_INVALID);
  EXPECT(cs.commit_pending(inst, NULL, &err), CS_INVALID);
  EXPECT(cs.expire_due(inst, NULL, &err), CS_INVALID);
  EXPECT(cs.expire_due(NULL, &n, &err), CS_INVALID);
  EXPECT(cs.audit_verify(NULL, &out, &err), CS_INVALID);
  EXPECT(cs.audit_verify(inst, NULL, &err), CS_INVALID);
  CHECK(out == NULL);
}

/* The ids of the three proposals the flow submits. */
static char note_id[128], appt_id[128], msg_id[128];

static void submit_list_get(cs_instance* inst) {
  char* note = fixture_draft("note-create.json");
  char* appt = fixture_draft("appointment-create.json");
  char* msg = fixture_draft("message-create.json");
  char* out = NULL;

  EXPECT(cs.submit(inst, "demo-ai-scribe-token", note, &out, &err), CS_OK);
  id_of(out, note_id, sizeof note_id);
  CHECK(has(out, "\"status\":\"pending\"") && strlen(note_id) > 0);
  /* The same idempotency key and draft answer the same proposal; another draft is refused. */
  EXPECT(cs.submit(inst, "demo-ai-scribe-token", note, &out, &err), CS_OK);
  CHECK(has(out, note_id));
  char* other = replace(note, "improved sleep", "worse sleep");
  EXPECT(cs.submit(inst, "demo-ai-scribe-token", other, &out, &err), CS_CONFLICT);
  CHECK(out == NULL);
  free(other);

  EXPECT(cs.submit(inst, "demo-ai-scheduler-token", appt, &out, &err), CS_OK);
  id_of(out, appt_id, sizeof appt_id);
  cs.free(out);
  EXPECT(cs.submit(inst, "demo-ai-scribe-token", msg, &out, &err), CS_OK);
  id_of(out, msg_id, sizeof msg_id);
  cs.free(out);
  CHECK(strlen(appt_id) > 0 && strlen(msg_id) > 0);

  EXPECT(cs.submit(inst, "demo-ai-scribe-token", "{\"kind\":", &out, &err), CS_INVALID);
  CHECK(out == NULL && err.http_status == 400);
  EXPECT(cs.submit(inst, "not-a-token", note, &out, &err), CS_UNAUTHORIZED);
  CHECK(err.http_status == 401 && strstr(err.message, "not-a-token") == NULL);
  /* Only an AI submits drafts. */
  EXPECT(cs.submit(inst, "demo-dr-ada-token", note, &out, &err), CS_FORBIDDEN);

  EXPECT(cs.list(inst, "demo-dr-ada-token", "{\"status\":\"pending\",\"limit\":10}", &out, &err),
         CS_OK);
  CHECK(out != NULL && strstr(out, note_id) && strstr(out, appt_id) && strstr(out, msg_id));
  cs.free(out);
  EXPECT(cs.list(inst, "demo-dr-ada-token", "{\"kind\":\"note\"}", &out, &err), CS_OK);
  CHECK(out != NULL && strstr(out, note_id) && !strstr(out, appt_id));
  cs.free(out);
  EXPECT(cs.list(inst, "demo-ai-scribe-token", NULL, &out, &err), CS_FORBIDDEN);
  /* A page of two out of three, oldest first; submissions in the same millisecond are ordered
     by id, so which two is not fixed. */
  EXPECT(cs.list(inst, "demo-dr-ada-token", "{\"limit\":2}", &out, &err), CS_OK);
  CHECK(out != NULL && strstr(out, "\"next_cursor\""));
  CHECK(out != NULL && (strstr(out, note_id) != NULL) + (strstr(out, appt_id) != NULL) +
                               (strstr(out, msg_id) != NULL) == 2);
  cs.free(out);
  EXPECT(cs.list(inst, "demo-dr-ada-token", "[1]", &out, &err), CS_INVALID);
  EXPECT(cs.list(inst, "demo-dr-ada-token", "{\"colour\":\"red\"}", &out, &err), CS_INVALID);

  EXPECT(cs.get(inst, "demo-dr-ada-token", note_id, &out, &err), CS_OK);
  CHECK(has(out, "\"provenance\""));
  EXPECT(cs.get(inst, "demo-dr-ada-token", "no-such-id", &out, &err), CS_NOT_FOUND);
  CHECK(err.http_status == 404);
  EXPECT(cs.get(inst, "demo-dr-ada-token", "../x", &out, &err), CS_INVALID);
  EXPECT(cs.get(inst, "demo-dr-ada-token", "x%2Faudit", &out, &err), CS_INVALID);
  EXPECT(cs.approve(inst, "demo-dr-ada-token", "", NULL, &out, &err), CS_INVALID);
  free(note);
  free(appt);
  free(msg);
}

static void review(cs_instance* inst) {
  char* out = NULL;
  /* The AI can never approve; the clinician can, once. */
  EXPECT(cs.approve(inst, "demo-ai-scribe-token", note_id, NULL, &out, &err), CS_FORBIDDEN);
  CHECK(out == NULL && strlen(err.message) > 0);
  EXPECT(cs.reject(inst, "demo-dr-ada-token", note_id, "made-up-code", NULL, &out, &err),
         CS_INVALID);
  EXPECT(cs.approve(inst, "demo-dr-ada-token", note_id, "looks right", &out, &err), CS_OK);
  CHECK(has(out, "\"status\":\"approved\""));
  EXPECT(cs.approve(inst, "demo-dr-ada-token", note_id, NULL, &out, &err), CS_CONFLICT);
  /* Only a failed commit can be retried, by someone who may approve, with a reason. */
  EXPECT(cs.retry_commit(inst, "demo-dr-ada-token", note_id, "server back", &out, &err),
         CS_CONFLICT);
  EXPECT(cs.retry_commit(inst, "demo-ai-scribe-token", note_id, "server back", &out, &err),
         CS_FORBIDDEN);
  EXPECT(cs.retry_commit(inst, "demo-dr-ada-token", note_id, NULL, &out, &err), CS_INVALID);

  /* The front desk takes the appointment, moves it by amending the draft, which approves it. */
  EXPECT(cs.reassign(inst, "demo-ai-scheduler-token", appt_id, "queue:front-desk", NULL, &out,
                     &err),
         CS_FORBIDDEN);
  EXPECT(cs.reassign(inst, "demo-fd-sam-token", appt_id, "queue:front-desk", "front desk books",
                     &out, &err),
         CS_OK);
  CHECK(has(out, "\"owner\":\"queue:front-desk\""));
  char* appt = fixture_draft("appointment-create.json");
  char* moved = replace(appt, "30-minute review with Dr. Ada", "30-minute review (moved)");
  size_t n = strlen(moved) + 64;
  char* amendment = malloc(n);
  snprintf(amendment, n, "{\"draft\":%s,\"note\":\"patient asked\"}", moved);
  EXPECT(cs.amend(inst, "demo-fd-sam-token", appt_id, "{\"note\":1}", &out, &err), CS_INVALID);
  EXPECT(cs.amend(inst, "demo-fd-sam-token", appt_id, amendment, &out, &err), CS_OK);
  CHECK(has(out, "\"status\":\"approved\""));
  free(appt);
  free(moved);
  free(amendment);

  /* (version 3) An approval of a revision the proposal is not at changes nothing. */
  EXPECT(cs.approve_revision(inst, "demo-dr-ada-token", msg_id, 1, NULL, &out, &err),
         CS_CONFLICT);
  CHECK(err.http_status == 409 && out == NULL);
  EXPECT(cs.approve_revision(inst, "demo-dr-ada-token", msg_id, -1, NULL, &out, &err), CS_INVALID);
  EXPECT(cs.approve_revision(inst, "demo-dr-ada-token", msg_id, 0, "first of two", &out, &err),
         CS_OK);
  CHECK(has(out, "\"status\":\"pending\""));
  /* A NUL inside the kind (it once crashed the engine) is refused like any invalid draft. */
  char* nul_note = fixture_draft("note-create.json");
  char* nul_kind = replace(nul_note, "\"kind\": \"note\"", "\"kind\": \"note\\u0000\"");
  EXPECT(cs.submit(inst, "demo-ai-scribe-token", nul_kind, &out, &err), CS_INVALID);
  CHECK(err.http_status == 400 && strstr(err.message, "draft.kind") != NULL);
  free(nul_note);
  free(nul_kind);

  EXPECT(cs.reject(inst, "demo-dr-ada-token", msg_id, "not-needed", "already called", &out, &err),
         CS_OK);
  CHECK(has(out, "\"status\":\"rejected\""));

  int expired = -1;
  EXPECT(cs.expire_due(inst, &expired, &err), CS_OK);
  CHECK(expired == 0); /* nothing is days old */
}

/* One instance, several host threads submitting at once: every submission lands, once. */
enum { kThreads = 4, kPerThread = 5 };
struct submitter {
  cs_instance* inst;
  int index;
  int ok;
};

static void* submit_some(void* arg) {
  struct submitter* s = arg;
  char* note = fixture_draft("note-create.json");
  cs_error e;
  memset(&e, 0, sizeof e);
  e.struct_size = sizeof e;
  for (int i = 0; i < kPerThread; ++i) {
    char key[64];
    snprintf(key, sizeof key, "\"idempotency_key\": \"thread-%d-%d\"", s->index, i);
    char* draft = replace(note, "\"idempotency_key\": \"scribe-visit-1001\"", key);
    char* out = NULL;
    if (cs.submit(s->inst, "demo-ai-scribe-token", draft, &out, &e) == CS_OK) s->ok++;
    else fprintf(stderr, "thread %d: %s\n", s->index, e.message);
    cs.free(out);
    free(draft);
  }
  free(note);
  return NULL;
}

static void concurrent_submissions(cs_instance* inst) {
  pthread_t threads[kThreads];
  struct submitter subs[kThreads];
  for (int t = 0; t < kThreads; ++t) {
    subs[t] = (struct submitter){inst, t, 0};
    CHECK(pthread_create(&threads[t], NULL, submit_some, &subs[t]) == 0);
  }
  int ok = 0;
  for (int t = 0; t < kThreads; ++t) {
    pthread_join(threads[t], NULL);
    ok += subs[t].ok;
  }
  CHECK(ok == kThreads * kPerThread);
  char* out = NULL;
  const char* filter = "{\"status\":\"pending\",\"kind\":\"note\",\"limit\":100}";
  EXPECT(cs.list(inst, "demo-dr-ada-token", filter, &out, &err), CS_OK);
  int seen = 0; /* the flow's own note is approved by now: these are the threads' */
  for (const char* p = out; p && (p = strstr(p, "\"kind\":\"note\"")); ++p) seen++;
  CHECK(seen == kThreads * kPerThread);
  cs.free(out);
}

static void commit(cs_instance* inst, const char* fhir_url) {
  char* out = NULL;
  EXPECT(cs.commit_pending(inst, &out, &err), CS_OK);
  if (fhir_url == NULL) {
    /* No FHIR server is listening: kept for a later retry, nothing lost. The Task mirror's
     * pass could not run either, and says so in its own member. */
    CHECK(out != NULL && strstr(out, "\"claimed\":2") && strstr(out, "retry-later"));
    CHECK(out != NULL && strstr(out, "\"mirror\":{\"error\":"));
    cs.free(out);
    EXPECT(cs.get(inst, "demo-dr-ada-token", note_id, &out, &err), CS_OK);
    CHECK(has(out, "\"status\":\"committing\""));
    return;
  }
  CHECK(out != NULL && strstr(out, "\"claimed\":2") && !strstr(out, "retry-later"));
  /* One Task mirror pass followed the commits (task_mirror is on in this config). */
  CHECK(out != NULL && strstr(out, "\"mirror\":{\"records\":") && strstr(out, "\"refused\":0"));
  cs.free(out);
  EXPECT(cs.get(inst, "demo-dr-ada-token", note_id, &out, &err), CS_OK);
  CHECK(has(out, "\"status\":\"committed\""));
  EXPECT(cs.get(inst, "demo-fd-sam-token", appt_id, &out, &err), CS_OK);
  CHECK(has(out, "\"status\":\"committed\""));
  EXPECT(cs.commit_pending(inst, &out, &err), CS_OK);
  CHECK(has(out, "\"claimed\":0"));

  /* Read back from the server: the note and the amended appointment are there, with a
   * Provenance; the rejected message never reached it. */
  char url[512];
  snprintf(url, sizeof url, "%s/DocumentReference", fhir_url);
  char* body = http_get(url);
  CHECK(body != NULL && strstr(body, "\"resourceType\":\"DocumentReference\""));
  free(body);
  snprintf(url, sizeof url, "%s/Appointment", fhir_url);
  body = http_get(url);
  CHECK(body != NULL && strstr(body, "30-minute review (moved)"));
  free(body);
  snprintf(url, sizeof url, "%s/Provenance", fhir_url);
  body = http_get(url);
  CHECK(body != NULL && strstr(body, "\"resourceType\":\"Provenance\""));
  free(body);
  /* The note's Task: completed, listing the committed note. */
  snprintf(url, sizeof url, "%s/Task/cs-%s", fhir_url, note_id);
  body = http_get(url);
  CHECK(body != NULL && strstr(body, "\"status\":\"completed\"") &&
        strstr(body, "\"reference\":\"DocumentReference/"));
  free(body);
  snprintf(url, sizeof url, "%s/Communication", fhir_url);
  body = http_get(url);
  CHECK(body != NULL && !strstr(body, "\"resourceType\":\"Communication\""));
  free(body);
}

/* An approved patient message lands as what it is, under either profile: a Communication
 * "completed" with "sent", or an active CommunicationRequest; never a draft nobody sends. */
static void message_profiles(const char* fhir_url) {
  const char* profiles[2][3] = {
      {"", "Communication", "\"status\":\"completed\""},
      {"s#\"profiles\": {}#\"profiles\": {\"message\": \"communication-request\"}#",
       "CommunicationRequest", "\"status\":\"active\""}};
  for (int i = 0; i < 2; ++i) {
    char dir[] = "/tmp/countersign-capi-msg-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char config_path[512];
    write_config(dir, fhir_url, profiles[i][0], config_path, sizeof config_path);
    cs_instance* inst = NULL;
    EXPECT(cs.open(config_path, &inst, &err), CS_OK);
    if (inst == NULL) return;
    char* out = NULL;
    char* msg = fixture_draft("message-create.json");
    EXPECT(cs.submit(inst, "demo-ai-scribe-token", msg, &out, &err), CS_OK);
    free(msg);
    char id[128];
    id_of(out, id, sizeof id);
    cs.free(out);
    EXPECT(cs.approve_revision(inst, "demo-dr-ada-token", id, 0, NULL, &out, &err), CS_OK);
    CHECK(has(out, "\"status\":\"pending\""));
    EXPECT(cs.approve_revision(inst, "demo-fd-sam-token", id, 0, NULL, &out, &err), CS_OK);
    CHECK(has(out, "\"status\":\"approved\""));
    EXPECT(cs.commit_pending(inst, &out, &err), CS_OK);
    CHECK(has(out, "\"status\":\"committed\""));
    char url[512];
    snprintf(url, sizeof url, "%s/%s", fhir_url, profiles[i][1]);
    char* body = http_get(url);
    CHECK(body != NULL && strstr(body, profiles[i][2]) != NULL);
    if (i == 0) CHECK(body != NULL && strstr(body, "\"sent\":\"") != NULL);
    CHECK(body != NULL && strstr(body, "\"status\":\"preparation\"") == NULL &&
          strstr(body, "\"status\":\"draft\"") == NULL);
    free(body);
    cs.close(inst);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
  }
}

int main(void) {
  void* lib = dlopen(COUNTERSIGN_LIBRARY, RTLD_NOW | RTLD_LOCAL);
  if (lib == NULL) {
    fprintf(stderr, "dlopen: %s\n", dlerror());
    return 2;
  }
  load(lib);
  memset(&err, 0, sizeof err);
  err.struct_size = sizeof err;

  char dir[] = "/tmp/countersign-capi-XXXXXX";
  if (mkdtemp(dir) == NULL) return 2;
  version_and_error_paths(dir);

  /* Port 1 refuses connections: the "no FHIR server" configuration. */
  const char* fhir_url = getenv("COUNTERSIGN_TEST_FHIR_URL");
  char config_path[512];
  /* With the FHIR Task mirror on (cs_commit_pending then reports a "mirror" pass). */
  write_config(dir, fhir_url ? fhir_url : "http://127.0.0.1:1/fhir/R4",
               "s#\"server\": {#\"task_mirror\": {\"enabled\": true}, \"server\": {#",
               config_path, sizeof config_path);
  cs_instance* inst = NULL;
  EXPECT(cs.open(config_path, &inst, &err), CS_OK);
  if (inst == NULL) return 1;
  CHECK(err.code == CS_OK && err.message[0] == '\0');

  null_arguments(inst);
  submit_list_get(inst);
  review(inst);
  commit(inst, fhir_url);
  if (fhir_url != NULL) message_profiles(fhir_url);
  concurrent_submissions(inst);

  char* out = NULL;
  EXPECT(cs.audit_verify(inst, &out, &err), CS_OK);
  CHECK(has(out, "\"ok\":true"));

  cs.close(inst);
  cs.close(NULL);
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  CHECK(system(cmd) == 0);
  dlclose(lib);
  if (failures) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  printf("capi_test: all checks passed%s\n", fhir_url ? " (with a FHIR server)" : "");
  return 0;
}
