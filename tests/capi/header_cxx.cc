// The public header compiles as strict C++11 (its functions' C linkage is what capi_test's
// dlsym by plain name checks).
#include "countersign/countersign.h"

static_assert(sizeof(cs_status) == 4, "cs_status is 32-bit in C++ too");
extern "C" int countersign_header_cxx() { return CS_API_VERSION; }
