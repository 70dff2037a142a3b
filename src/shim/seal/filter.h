// The seal's seccomp filter, built at compile time (no libc, no allocation):
// the patcher's preinit hook and the shim's constructor install the same bytes.
//
// What it refuses, for the process and every descendant (filters are
// inherited across fork and exec and cannot be removed):
// - socket() of any family but AF_UNIX and AF_NETLINK: EACCES. The shim's
//   virtual sockets are AF_UNIX, so only they can exist; an Internet, packet,
//   vsock, bluetooth ... socket made around the shim (dlsym, a raw system
//   call, a static child) never does.
// - io_uring_setup/enter/register: ENOSYS, as on a kernel without io_uring,
//   which every runtime falls back from (IORING_OP_SOCKET/CONNECT would get
//   around the socket rule).
// - system calls of a foreign ABI (i386 via int 0x80, x32), whose numbers the
//   native rules would not recognise: the same rules by their own numbers,
//   socketcall(SYS_SOCKET) refused outright (its arguments are in memory).
// - when Landlock is unavailable (see seal.h), ptrace other than
//   PTRACE_TRACEME, process_vm_writev and pidfd_getfd: EACCES. They would let
//   a sealed process borrow an unsealed one's socket or code. With Landlock
//   the kernel already confines them to the sealed tree, so debuggers inside
//   it keep working.
// And it answers the probe prctl(kProbeOption) with -kProbeErrno, so a process
// can tell that it is sealed (an unsealed kernel says EINVAL).
//
// kTreeFilter, installed with the seal by the first process of a tree, sends
// prctl(kTreeOption) to a user-notification listener that netleashd holds: the
// kernel tells the daemon which process asks, and the filter it hits says
// which tree that process is in (docs/identity.md, "Process trees").
#pragma once

#include <asm/unistd.h>
#include <linux/audit.h>
#include <linux/errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

namespace netleash::seal {

inline constexpr long kProbeOption = 0x4e4c5331;  // "NLS1": no prctl option has it
inline constexpr long kProbeErrno = 4042;          // below MAX_ERRNO, no errno uses it
inline constexpr long kTreeOption = 0x4e4c5332;   // "NLS2": the tree membership probe

struct Program {
  sock_filter code[128];  // both variants need about 70
  unsigned short length;
};

namespace detail {

constexpr uint32_t kAllow = SECCOMP_RET_ALLOW;
constexpr uint32_t errno_action(uint32_t error) { return SECCOMP_RET_ERRNO | (error & SECCOMP_RET_DATA); }
constexpr uint32_t kArchOffset = offsetof(seccomp_data, arch);
constexpr uint32_t kNrOffset = offsetof(seccomp_data, nr);
// The low 32 bits of an argument (little-endian): the kernel takes them as int.
constexpr uint32_t arg_offset(int n) { return static_cast<uint32_t>(offsetof(seccomp_data, args) + 8 * n); }

// Straight-line BPF with one construct: "if A == value { body }", where the
// body always returns, so a failed comparison just jumps over it with the
// accumulator unchanged.
class Builder {
 public:
  constexpr void load(uint32_t offset) { emit(BPF_LD | BPF_W | BPF_ABS, 0, 0, offset); }
  constexpr void ret(uint32_t action) { emit(BPF_RET | BPF_K, 0, 0, action); }
  template <typename Body>
  constexpr void when(uint32_t value, Body body) { unless_jump(BPF_JEQ, value, body); }
  template <typename Body>
  constexpr void when_at_least(uint32_t value, Body body) { unless_jump(BPF_JGE, value, body); }
  constexpr Program done() const { return program_; }

 private:
  // Runs `body` when the comparison holds; otherwise jumps over it.
  template <typename Body>
  constexpr void unless_jump(uint16_t comparison, uint32_t value, Body body) {
    unsigned short at = program_.length;
    emit(BPF_JMP | comparison | BPF_K, 0, 0, value);
    body(*this);
    program_.code[at].jf = static_cast<uint8_t>(program_.length - at - 1);
  }
  constexpr void emit(uint16_t code, uint8_t jt, uint8_t jf, uint32_t k) {
    program_.code[program_.length++] = sock_filter{code, jt, jf, k};
  }
  Program program_{};
};

// System call numbers of one ABI.
struct Abi {
  uint32_t socket, socketcall, prctl, ptrace, process_vm_writev, pidfd_getfd;
  uint32_t io_uring_setup, io_uring_enter, io_uring_register;
};

constexpr uint32_t kNone = 0xffffffff;  // the ABI has no such call
constexpr int kSysSocket = 1;           // socketcall's SYS_SOCKET

// The rules for one ABI; the accumulator holds the system call number on entry.
constexpr void abi_rules(Builder& b, const Abi& abi, bool guard_ptrace) {
  b.when(abi.socket, [](Builder& s) {
    s.load(arg_offset(0));
    s.when(AF_UNIX, [](Builder& t) { t.ret(kAllow); });
    s.when(AF_NETLINK, [](Builder& t) { t.ret(kAllow); });
    s.ret(errno_action(EACCES));
  });
  if (abi.socketcall != kNone) {
    b.when(abi.socketcall, [](Builder& s) {
      s.load(arg_offset(0));
      s.when(kSysSocket, [](Builder& t) { t.ret(errno_action(EACCES)); });
      s.ret(kAllow);
    });
  }
  const uint32_t io_uring[] = {abi.io_uring_setup, abi.io_uring_enter, abi.io_uring_register};
  for (uint32_t nr : io_uring) {
    b.when(nr, [](Builder& s) { s.ret(errno_action(ENOSYS)); });
  }
  b.when(abi.prctl, [](Builder& s) {
    s.load(arg_offset(0));
    s.when(static_cast<uint32_t>(kProbeOption), [](Builder& t) { t.ret(errno_action(kProbeErrno)); });
    s.ret(kAllow);
  });
  if (guard_ptrace) {
    b.when(abi.ptrace, [](Builder& s) {
      s.load(arg_offset(0));
      s.when(0 /* PTRACE_TRACEME */, [](Builder& t) { t.ret(kAllow); });
      s.ret(errno_action(EACCES));
    });
    b.when(abi.process_vm_writev, [](Builder& s) { s.ret(errno_action(EACCES)); });
    b.when(abi.pidfd_getfd, [](Builder& s) { s.ret(errno_action(EACCES)); });
  }
  b.ret(kAllow);
}

constexpr Program build(bool guard_ptrace) {
  Builder b;
  b.load(kArchOffset);
#if defined(__x86_64__)
  constexpr Abi native{__NR_socket, kNone, __NR_prctl, __NR_ptrace, __NR_process_vm_writev,
                       __NR_pidfd_getfd, __NR_io_uring_setup, __NR_io_uring_enter,
                       __NR_io_uring_register};
  // i386 numbers (asm/unistd_32.h), reachable from a 64-bit process by int 0x80.
  constexpr Abi i386{359, 102, 172, 26, 348, 438, 425, 426, 427};
  constexpr uint32_t kX32Bit = 0x40000000;
  b.when(AUDIT_ARCH_X86_64, [&](Builder& s) {
    s.load(kNrOffset);
    s.when_at_least(kX32Bit, [](Builder& t) { t.ret(errno_action(ENOSYS)); });
    abi_rules(s, native, guard_ptrace);
  });
  b.when(AUDIT_ARCH_I386, [&](Builder& s) {
    s.load(kNrOffset);
    abi_rules(s, i386, guard_ptrace);
  });
#elif defined(__aarch64__)
  constexpr Abi native{__NR_socket, kNone, __NR_prctl, __NR_ptrace, __NR_process_vm_writev,
                       __NR_pidfd_getfd, __NR_io_uring_setup, __NR_io_uring_enter,
                       __NR_io_uring_register};
  b.when(AUDIT_ARCH_AARCH64, [&](Builder& s) {
    s.load(kNrOffset);
    abi_rules(s, native, guard_ptrace);
  });
#else
#error "the seal supports x86_64 and aarch64"
#endif
  b.ret(errno_action(ENOSYS));  // an ABI this filter does not know
  return b.done();
}

// prctl(kTreeOption) of the native ABI goes to the listener; everything else
// is left to the seal's filter (ALLOW is the weakest action, so the older
// filter decides).
constexpr Program build_tree_filter() {
  Builder b;
  b.load(kArchOffset);
#if defined(__x86_64__)
  constexpr uint32_t kArch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
  constexpr uint32_t kArch = AUDIT_ARCH_AARCH64;
#endif
  b.when(kArch, [](Builder& s) {
    s.load(kNrOffset);
    s.when(__NR_prctl, [](Builder& t) {
      t.load(arg_offset(0));
      t.when(static_cast<uint32_t>(kTreeOption), [](Builder& u) { u.ret(SECCOMP_RET_USER_NOTIF); });
      t.ret(kAllow);
    });
    s.ret(kAllow);
  });
  b.ret(kAllow);
  return b.done();
}

}  // namespace detail

inline constexpr Program kFilter = detail::build(false);
inline constexpr Program kFilterGuardingPtrace = detail::build(true);
inline constexpr Program kTreeFilter = detail::build_tree_filter();

}  // namespace netleash::seal
