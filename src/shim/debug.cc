#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim/internal.h"
#include "shim/real.h"

namespace netleash::shim {

bool debug_enabled() {
  // Honoured in secure-execution processes too: it only prints.
  const char* env = getenv("NETLEASH_DEBUG");
  return env != nullptr && strcmp(env, "1") == 0;
}

void debug(const char* format, ...) {
  if (!debug_enabled()) return;
  int saved = errno;
  char line[512];
  int n = snprintf(line, sizeof line, "netleash[%d]: ", static_cast<int>(getpid()));
  va_list args;
  va_start(args, format);
  if (n > 0 && static_cast<size_t>(n) < sizeof line) n += vsnprintf(line + n, sizeof line - static_cast<size_t>(n), format, args);
  va_end(args);
  if (n >= 0) {
    size_t len = static_cast<size_t>(n) < sizeof line - 1 ? static_cast<size_t>(n) : sizeof line - 2;
    line[len++] = '\n';
    ssize_t ignored = NL_REAL(write)(STDERR_FILENO, line, len);
    (void)ignored;
  }
  errno = saved;
}

}  // namespace netleash::shim
