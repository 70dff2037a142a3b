#include "run/setup_failure.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

namespace netleash::run {

void fail_setup(const char* what) {
  fprintf(stderr, "%s: %s: %s\n", kProgram, what, strerror(errno));
  exit(kSetupFailed);
}

}  // namespace netleash::run
