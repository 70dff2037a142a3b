// Done with prctl(2) and capset(2) directly: libcap would be a dependency for
// five system calls.
#include "run/capabilities.h"

#include <errno.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "run/setup_failure.h"

namespace netleash::run {
namespace {

// The kernel may know capabilities this build's headers do not, so drop
// numbers upward until the kernel says there is no such capability.
void empty_bounding_set() {
  for (int cap = 0;; ++cap) {
    if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) < 0) {
      if (errno == EINVAL) return;  // past the kernel's last capability
      fail_setup("cannot read the capability bounding set");
    }
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0)
      fail_setup("cannot drop a capability from the bounding set");
  }
}

// Without these, execve as uid 0 fills the permitted and effective sets again
// (from the bounding set, empty by now, but the bits say so outright), and a
// setuid transition could keep or restore capabilities. Locked, so the
// command cannot clear them (it could not anyway without CAP_SETPCAP).
constexpr unsigned long kLockedSecurebits =
    SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
    SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED |
    SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;

void empty_process_sets() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct none[_LINUX_CAPABILITY_U32S_3]{};
  if (syscall(SYS_capset, &header, none) != 0)
    fail_setup("cannot empty the permitted, effective and inheritable capabilities");
}

}  // namespace

void drop_all_capabilities() {
  // Bounding set and securebits first: changing them needs CAP_SETPCAP,
  // which the last step takes away.
  empty_bounding_set();
  if (prctl(PR_SET_SECUREBITS, kLockedSecurebits, 0, 0, 0) != 0)
    fail_setup("cannot lock the securebits");
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0)
    fail_setup("cannot clear the ambient capabilities");
  empty_process_sets();
}

}  // namespace netleash::run
