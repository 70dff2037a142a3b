// Sealing a process: no_new_privs, then Landlock where the kernel has it,
// then the seccomp filter of filter.h, then the tree filter whose listener
// makes the process the root of a tree netleashd can recognise. Header-only and libc-free, so that the
// same code can also run where libc is not usable yet (before the program's
// libraries are initialised): the patcher's preinit hook runs it before any
// library constructor (src/patcher/preinit/), the shim's constructor again.
#pragma once

#include <linux/fcntl.h>
#include <linux/prctl.h>
#include <linux/seccomp.h>
#include <stdint.h>

#include "shim/seal/filter.h"
#include "shim/seal/raw_syscall.h"

namespace netleash::seal {

enum class Outcome { kSealed, kAlreadySealed, kFailed };
// Which call failed. Not a string: the preinit hook must hold no pointer
// that would need a relocation.
enum class Step { kNone, kNoNewPrivs, kSeccomp };

inline const char* step_name(Step step) {
  return step == Step::kNoNewPrivs ? "prctl(PR_SET_NO_NEW_PRIVS)" : "seccomp(SECCOMP_SET_MODE_FILTER)";
}

struct Result {
  Outcome outcome;
  Step step;         // which call failed (kFailed)
  long error;        // its errno (kFailed)
  bool landlock;     // the Landlock half is in place too (kSealed)
  long tree_error;   // kSealed: 0 if this process now roots a tree, else why not (errno)
};

// Where the first process of a tree finds the listener of its tree filter
// until the shim hands it to netleashd: a fixed descriptor, because the
// preinit hook and the shim share no memory. Below the usual 1024 limit;
// close-on-exec, so no program it starts inherits it.
inline constexpr int kTreeListenerFd = 1009;

// The filter answers the probe; nothing else does.
inline bool is_sealed() {
  return raw_syscall(__NR_prctl, kProbeOption) == -kProbeErrno;
}

namespace detail {

// UAPI values (linux/landlock.h grows with the kernel; these never change).
constexpr long kLandlockCreateRulesetVersion = 1 << 0;
constexpr uint64_t kLandlockFsMakeBlock = 1ull << 11;
constexpr uint64_t kLandlockNetBindTcp = 1ull << 0;
constexpr uint64_t kLandlockNetConnectTcp = 1ull << 1;
constexpr long kLandlockNetAbi = 4;

struct LandlockRulesetAttr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net;
  uint64_t scoped;  // zero: larger than an older kernel knows is fine when zero
};

// Puts the process in a Landlock domain of its own. That alone confines
// ptrace, /proc/PID/mem, process_vm_writev and pidfd_getfd to the sealed tree;
// the ruleset also refuses TCP bind/connect outright (ABI 4+), a second lock
// on the socket rule. A ruleset must handle something, so before ABI 4 it
// handles only the creation of block devices, which needs CAP_MKNOD anyway.
inline bool confine_with_landlock() {
  long abi = raw_syscall(__NR_landlock_create_ruleset, 0, 0, kLandlockCreateRulesetVersion);
  if (abi < 1) return false;
  LandlockRulesetAttr attr{};
  if (abi >= kLandlockNetAbi) {
    attr.handled_access_net = kLandlockNetBindTcp | kLandlockNetConnectTcp;
  } else {
    attr.handled_access_fs = kLandlockFsMakeBlock;
  }
  long fd = raw_syscall(__NR_landlock_create_ruleset, reinterpret_cast<long>(&attr), sizeof attr, 0);
  if (fd < 0) return false;
  long r = raw_syscall(__NR_landlock_restrict_self, fd, 0);
  raw_syscall(__NR_close, fd);
  return r == 0;
}

// The tree filter (filter.h) with a new listener, moved to kTreeListenerFd.
// With TSYNC the kernel wants TSYNC_ESRCH too, so that the listener can be
// the return value. Fails with EBUSY when the process already has a
// listener above it (some other supervisor's): it cannot root a tree then.
inline long install_tree_filter(bool all_threads) {
  // The address taken at run time (RIP-relative): a compiler that folded
  // the whole sock_fprog into a constant would store the pointer as data,
  // which the relocation-free preinit hook cannot have.
  const sock_filter* code = kTreeFilter.code;
  asm("" : "+r"(code));
  sock_fprog fprog{kTreeFilter.length, const_cast<sock_filter*>(code)};
  long flags = SECCOMP_FILTER_FLAG_NEW_LISTENER;
  if (all_threads) flags |= SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
  long listener = raw_syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, flags, reinterpret_cast<long>(&fprog));
  if (listener < 0) return -listener;
  if (listener == kTreeListenerFd) return 0;
  long moved = raw_syscall(__NR_dup3, listener, kTreeListenerFd, O_CLOEXEC);
  raw_syscall(__NR_close, listener);
  return moved < 0 ? -moved : 0;
}

}  // namespace detail

// Seals the calling process, unless it already is. `all_threads` syncs the
// filter to every thread (the shim's constructor may run after a library
// started one); TSYNC then fails if a thread has diverged filters.
inline Result seal_process(bool all_threads) {
  if (is_sealed()) return Result{Outcome::kAlreadySealed, Step::kNone, 0, false, 0};
  long r = raw_syscall(__NR_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  if (r < 0) return Result{Outcome::kFailed, Step::kNoNewPrivs, -r, false, 0};
  bool landlock = detail::confine_with_landlock();
  const Program& program = landlock ? kFilter : kFilterGuardingPtrace;
  sock_fprog fprog{program.length, const_cast<sock_filter*>(program.code)};
  long flags = all_threads ? SECCOMP_FILTER_FLAG_TSYNC : 0;
  r = raw_syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, flags, reinterpret_cast<long>(&fprog));
  // With TSYNC a positive value is the id of a thread that could not be synced.
  if (r != 0) return Result{Outcome::kFailed, Step::kSeccomp, r < 0 ? -r : EBUSY, false, 0};
  // Only a process that seals itself roots a tree: one that was sealed
  // already is a descendant of a root and stays in that root's tree.
  return Result{Outcome::kSealed, Step::kNone, 0, landlock, detail::install_tree_filter(all_threads)};
}

}  // namespace netleash::seal
