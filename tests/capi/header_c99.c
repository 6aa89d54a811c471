/* The public header compiles as strict C99 (capi_test compiles it as C11). */
#include "countersign/countersign.h"

int countersign_header_c99(void);
int countersign_header_c99(void) { return CS_API_VERSION; }
