// The seccomp filter netleash-run leaves the command under.
#pragma once

namespace netleash::run {

// Sets no_new_privs and installs, for this process and everything it starts,
// a seccomp filter that refuses with EPERM the system calls that enter, make
// or rearrange namespaces and mounts, and load BPF programs; that refuses
// clone(2) with a CLONE_NEW* flag (EPERM) and clone3(2) (ENOSYS: its flags sit
// in memory a filter cannot read; libc then falls back to clone); and that
// kills the process on any system call of a foreign ABI (i386 through int
// 0x80, x32), which the filter's numbers would not match. Any failure ends
// netleash-run with exit status 125.
void install_syscall_filter();

}  // namespace netleash::run
