/* The C ABI from plain C: compiled against the header only, the library loaded with dlopen, the
 * whole flow run as a host would: version check, open, submit as the AI, list, get, approvals
 * (refused for the AI, accepted for a clinician), a bad reject code, a bad token, commit pending
 * with no FHIR server reachable (nothing lost), audit verify, close; and the error paths. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "countersign/countersign.h"

static int failures = 0;
#define CHECK(cond)                                                          \
  do {                                                                       \
    if (!(cond)) {                                                           \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      failures++;                                                            \
    }                                                                        \
  } while (0)

typedef int (*api_version_fn)(void);
typedef cs_status (*check_version_fn)(int);
typedef cs_status (*open_fn)(const char*, cs_instance**, cs_error*);
typedef void (*close_fn)(cs_instance*);
typedef void (*free_fn)(char*);
typedef cs_status (*submit_fn)(cs_instance*, const char*, const char*, char**, cs_error*);
typedef cs_status (*list_fn)(cs_instance*, const char*, const char*, char**, cs_error*);
typedef cs_status (*get_fn)(cs_instance*, const char*, const char*, char**, cs_error*);
typedef cs_status (*approve_fn)(cs_instance*, const char*, const char*, const char*, char**, cs_error*);
typedef cs_status (*reject_fn)(cs_instance*, const char*, const char*, const char*, const char*, char**, cs_error*);
typedef cs_status (*commit_fn)(cs_instance*, char**, cs_error*);
typedef cs_status (*verify_fn)(cs_instance*, char**, cs_error*);

static void* must(void* lib, const char* name) {
  void* f = dlsym(lib, name);
  if (f == NULL) {
    fprintf(stderr, "missing symbol %s\n", name);
    exit(2);
  }
  return f;
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

/* The "id" of a proposal JSON (first "id" member). */
static void id_of(const char* json, char* out, size_t size) {
  const char* p = strstr(json, "\"id\":\"");
  out[0] = '\0';
  if (p == NULL) return;
  p += 6;
  size_t i = 0;
  while (p[i] && p[i] != '"' && i + 1 < size) { out[i] = p[i]; i++; }
  out[i] = '\0';
}

int main(void) {
  void* lib = dlopen(COUNTERSIGN_LIBRARY, RTLD_NOW | RTLD_LOCAL);
  if (lib == NULL) {
    fprintf(stderr, "dlopen: %s\n", dlerror());
    return 2;
  }
  api_version_fn cs_api_version_ = (api_version_fn)must(lib, "cs_api_version");
  check_version_fn cs_check_version_ = (check_version_fn)must(lib, "cs_check_version");
  open_fn cs_open_ = (open_fn)must(lib, "cs_open");
  close_fn cs_close_ = (close_fn)must(lib, "cs_close");
  free_fn cs_free_ = (free_fn)must(lib, "cs_free");
  submit_fn cs_submit_ = (submit_fn)must(lib, "cs_submit");
  list_fn cs_list_ = (list_fn)must(lib, "cs_list");
  get_fn cs_get_ = (get_fn)must(lib, "cs_get");
  approve_fn cs_approve_ = (approve_fn)must(lib, "cs_approve");
  reject_fn cs_reject_ = (reject_fn)must(lib, "cs_reject");
  commit_fn cs_commit_pending_ = (commit_fn)must(lib, "cs_commit_pending");
  verify_fn cs_audit_verify_ = (verify_fn)must(lib, "cs_audit_verify");

  CHECK(cs_api_version_() == CS_API_VERSION);
  CHECK(cs_check_version_(CS_API_VERSION) == CS_OK);
  CHECK(cs_check_version_(CS_API_VERSION + 1) == CS_VERSION_MISMATCH);

  cs_error err;
  memset(&err, 0, sizeof err);
  err.struct_size = sizeof err;
  cs_instance* inst = NULL;

  /* Error paths first: nothing opens, every failure has a code and a message. */
  CHECK(cs_open_("/nonexistent/countersign.json", &inst, &err) != CS_OK);
  CHECK(inst == NULL);
  CHECK(err.code != CS_OK && strlen(err.message) > 0);
  CHECK(cs_open_(NULL, &inst, &err) == CS_INVALID);
  /* A caller with an older, smaller cs_error: only the fields it has are written. */
  struct { size_t struct_size; cs_status code; } small = {sizeof small, CS_OK};
  CHECK(cs_open_(NULL, &inst, (cs_error*)&small) == CS_INVALID && small.code == CS_INVALID);

  /* Open a temporary instance: the sample config with a temp store and no FHIR server. */
  char dir[] = "/tmp/countersign-capi-XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  char config_path[512], cmd[2048];
  snprintf(config_path, sizeof config_path, "%s/countersign.json", dir);
  snprintf(cmd, sizeof cmd,
           "sed -e 's#\"principals.json\"#\"%s/fixtures/config/principals.json\"#' "
           "-e 's#\"approval-policy.json\"#\"%s/fixtures/config/approval-policy.json\"#' "
           "-e 's#\"guardrails.json\"#\"%s/fixtures/config/guardrails.json\"#' "
           "-e 's#\"../../mappings/rules\"#\"%s/mappings/rules\"#' "
           "-e 's#\"countersign.db\"#\"%s/store.db\"#' "
           "-e 's#http://127.0.0.1:8103/fhir/R4#http://127.0.0.1:1/fhir/R4#' "
           "-e 's#\"max_attempts\": 4#\"max_attempts\": 1#' "
           "%s/fixtures/config/countersign.json > %s",
           COUNTERSIGN_SOURCE_DIR, COUNTERSIGN_SOURCE_DIR, COUNTERSIGN_SOURCE_DIR,
           COUNTERSIGN_SOURCE_DIR, dir, COUNTERSIGN_SOURCE_DIR, config_path);
  CHECK(system(cmd) == 0);
  CHECK(cs_open_(config_path, &inst, &err) == CS_OK);
  if (inst == NULL) {
    fprintf(stderr, "open failed: %s\n", err.message);
    return 1;
  }

  char path[512];
  snprintf(path, sizeof path, "%s/fixtures/drafts/note-create.json", COUNTERSIGN_SOURCE_DIR);
  char* draft = read_file(path);
  CHECK(draft != NULL);
  char* out = NULL;
  char id[128];

  CHECK(cs_submit_(inst, "demo-ai-scribe-token", draft, &out, &err) == CS_OK);
  CHECK(out != NULL && strstr(out, "\"status\":\"pending\"") != NULL);
  id_of(out ? out : "", id, sizeof id);
  CHECK(strlen(id) > 0);
  cs_free_(out);

  CHECK(cs_submit_(inst, "demo-ai-scribe-token", "{\"kind\":", &out, &err) == CS_INVALID);
  CHECK(out == NULL && err.http_status == 400);
  CHECK(cs_submit_(inst, "not-a-token", draft, &out, &err) == CS_UNAUTHORIZED);
  CHECK(cs_submit_(inst, NULL, draft, &out, &err) == CS_INVALID);

  CHECK(cs_list_(inst, "demo-dr-ada-token", "{\"status\":\"pending\",\"limit\":10}", &out, &err) == CS_OK);
  CHECK(out != NULL && strstr(out, id) != NULL);
  cs_free_(out);
  CHECK(cs_list_(inst, "demo-dr-ada-token", "[1]", &out, &err) == CS_INVALID);

  CHECK(cs_get_(inst, "demo-dr-ada-token", id, &out, &err) == CS_OK);
  CHECK(out != NULL && strstr(out, "Provenance") != NULL);
  cs_free_(out);
  CHECK(cs_get_(inst, "demo-dr-ada-token", "no-such-id", &out, &err) == CS_NOT_FOUND);
  CHECK(cs_get_(inst, "demo-dr-ada-token", "../x", &out, &err) == CS_INVALID);

  /* The AI can never approve; the clinician can. */
  CHECK(cs_approve_(inst, "demo-ai-scribe-token", id, NULL, &out, &err) == CS_FORBIDDEN);
  CHECK(strlen(err.message) > 0);
  CHECK(cs_reject_(inst, "demo-dr-ada-token", id, "made-up-code", NULL, &out, &err) == CS_INVALID);
  CHECK(cs_approve_(inst, "demo-dr-ada-token", id, "looks right", &out, &err) == CS_OK);
  CHECK(out != NULL && strstr(out, "\"status\":\"approved\"") != NULL);
  cs_free_(out);
  CHECK(cs_approve_(inst, "demo-dr-ada-token", id, NULL, &out, &err) == CS_CONFLICT);

  /* No FHIR server is listening: the commit is retried later, the proposal is not lost. */
  CHECK(cs_commit_pending_(inst, &out, &err) == CS_OK);
  CHECK(out != NULL && strstr(out, "\"claimed\":1") != NULL && strstr(out, "retry-later") != NULL);
  cs_free_(out);
  CHECK(cs_get_(inst, "demo-dr-ada-token", id, &out, &err) == CS_OK);
  CHECK(out != NULL && strstr(out, "\"status\":\"committing\"") != NULL);
  cs_free_(out);

  CHECK(cs_audit_verify_(inst, &out, &err) == CS_OK);
  CHECK(out != NULL && strstr(out, "\"ok\":true") != NULL);
  cs_free_(out);

  cs_close_(inst);
  cs_close_(NULL);
  free(draft);
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  CHECK(system(cmd) == 0);
  dlclose(lib);
  if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
  else printf("capi_test: all checks passed\n");
  return failures ? 1 : 0;
}
