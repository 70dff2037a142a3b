// The seal (seal/): the shim's constructor seals the process — no_new_privs,
// Landlock, the seccomp filter — so that from then on, whatever the program
// does (dlsym to libc's socket, a raw system call, io_uring, an unpatched or
// static child), no Internet socket exists but the shim's virtual ones.
//
// When: the dynamic loader runs a DT_NEEDED library's constructor after those
// of the libraries loaded after it, so the program's other libraries have run
// their constructors (and IFUNC resolvers) by now. On x86_64 the patcher's
// preinit hook (src/patcher/preinit/) has normally sealed the process before
// any of them; this constructor is the seal of files without the hook
// (--inspect says "seal": "constructor") and reports a seal that failed. A
// process already sealed (by the hook, or a child of a sealed one) costs one
// probe.
//
// If the seal cannot be installed the process gets no network: every Internet
// socket is refused with EACCES, and one line on stderr says why.
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "shim/internal.h"
#include "shim/real.h"
#include "shim/seal/seal.h"

namespace netleash::shim {

namespace {

// Written once by the constructor, before the program's code runs.
bool g_unsealed = false;

void report(const seal::Result& result) {
  char line[160];
  // No stdio buffers: snprintf only formats into `line`.
  int n = snprintf(line, sizeof line, "netleash: cannot seal this process: %s: %s; it gets no network\n",
                   seal::step_name(result.step), strerror(static_cast<int>(result.error)));
  if (n > 0) {
    ssize_t ignored = NL_REAL(write)(STDERR_FILENO, line, static_cast<size_t>(n) < sizeof line ? static_cast<size_t>(n) : sizeof line - 1);
    (void)ignored;
  }
}

__attribute__((constructor)) void seal_guard() {
  seal::Result result = seal::seal_process(true);
  if (result.outcome == seal::Outcome::kFailed) {
    g_unsealed = true;
    report(result);
  } else if (result.outcome == seal::Outcome::kSealed) {
    debug("sealed%s; %s", result.landlock ? " (seccomp and Landlock)" : " (seccomp; no Landlock)",
          result.tree_error == 0 ? "roots a process tree" : strerror(static_cast<int>(result.tree_error)));
  }
  if (!g_unsealed) tree_start();
}

}  // namespace

bool process_unsealed() { return g_unsealed; }

}  // namespace netleash::shim
