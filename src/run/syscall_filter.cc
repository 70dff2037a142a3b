// Plain classic BPF, written out here: the filter is a short list of numbers,
// and libseccomp would be a run-time dependency for it.
//
// A list of refused calls is only as complete as the kernel it was written
// for; it is the second line. The first is that the command holds no
// capability in any user namespace (capabilities.h), so every one of these
// calls would fail anyway on permissions; the filter keeps them failing if a
// kernel bug or a forgotten capability ever made one succeed.
#include "run/syscall_filter.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <vector>

#include "run/setup_failure.h"

namespace netleash::run {
namespace {

#if defined(__x86_64__)
constexpr unsigned kNativeArch = AUDIT_ARCH_X86_64;
// x32 system calls arrive with AUDIT_ARCH_X86_64 but their numbers have this
// bit set, so they would slip past every number compared below.
constexpr unsigned kX32SyscallBit = 0x40000000;
constexpr unsigned kSkippedSyscall = 0xffffffff;
#elif defined(__aarch64__)
constexpr unsigned kNativeArch = AUDIT_ARCH_AARCH64;
#else
#error "netleash-run: no seccomp architecture for this target"
#endif

// Each would let the command join or build a namespace or mount something:
// the ways out of the network namespace it is given.
constexpr long kRefusedWithEperm[] = {
    SYS_setns,      SYS_unshare,     SYS_mount,       SYS_umount2,
    SYS_pivot_root, SYS_bpf,         SYS_open_tree,   SYS_move_mount,
    SYS_fsopen,     SYS_fsconfig,    SYS_fsmount,     SYS_fspick,
    SYS_mount_setattr,
};

// clone(2) can create namespaces as unshare(2) does. CLONE_NEWTIME is left
// out: in clone(2) that bit is part of the exit signal, and a time namespace
// is no way out anyway.
constexpr unsigned kNamespaceFlags = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC |
                                     CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET;

// The filter reads the low half of clone's flags at the offset of args[0].
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "clone flags offset assumes little-endian");

sock_filter statement(unsigned short code, unsigned k) { return BPF_STMT(code, k); }
sock_filter jump(unsigned short code, unsigned k, unsigned char if_true, unsigned char if_false) {
  return BPF_JUMP(code, k, if_true, if_false);
}

constexpr unsigned kKill = SECCOMP_RET_KILL_PROCESS;
constexpr unsigned kAllow = SECCOMP_RET_ALLOW;
constexpr unsigned refuse(int error) { return SECCOMP_RET_ERRNO | (error & SECCOMP_RET_DATA); }

std::vector<sock_filter> build_filter() {
  std::vector<sock_filter> f;
  f.push_back(statement(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)));
  f.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, kNativeArch, 1, 0));
  f.push_back(statement(BPF_RET | BPF_K, kKill));
  f.push_back(statement(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)));
#if defined(__x86_64__)
  // Number -1 has that bit too, but is no x32 call: it is how a tracer skips
  // a system call, and the kernel answers it with ENOSYS.
  f.push_back(jump(BPF_JMP | BPF_JGE | BPF_K, kX32SyscallBit, 0, 2));
  f.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, kSkippedSyscall, 1, 0));
  f.push_back(statement(BPF_RET | BPF_K, kKill));
#endif
  for (long nr : kRefusedWithEperm) {
    f.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, static_cast<unsigned>(nr), 0, 1));
    f.push_back(statement(BPF_RET | BPF_K, refuse(EPERM)));
  }
  f.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, 0, 1));
  f.push_back(statement(BPF_RET | BPF_K, refuse(ENOSYS)));
  // Last, because it replaces the system call number in the accumulator by
  // the flags: clone(2) with a namespace flag is refused, any other allowed.
  f.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 0, 3));
  f.push_back(statement(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, args[0])));
  f.push_back(jump(BPF_JMP | BPF_JSET | BPF_K, kNamespaceFlags, 0, 1));
  f.push_back(statement(BPF_RET | BPF_K, refuse(EPERM)));
  f.push_back(statement(BPF_RET | BPF_K, kAllow));
  return f;
}

}  // namespace

void install_syscall_filter() {
  // Required to install a filter without CAP_SYS_ADMIN, and wanted anyway:
  // no execve (setuid, setgid, file capabilities) raises privileges again.
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail_setup("cannot set no_new_privs");
  std::vector<sock_filter> filter = build_filter();
  sock_fprog program{static_cast<unsigned short>(filter.size()), filter.data()};
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) != 0)
    fail_setup("cannot install the seccomp filter");
}

}  // namespace netleash::run
