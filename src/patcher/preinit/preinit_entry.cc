// The preinit hook: position-independent, libc-free code that the patcher
// appends to the netleash segment and lists in DT_PREINIT_ARRAY, so that the
// dynamic loader runs it after relocating every object and before any
// library constructor (glibc _dl_init runs the executable's preinit array
// first). It seals the process, then restores W^X in the netleash segment.
//
// Built freestanding and linked to a flat image (blob.ld) that make_blob_header.py
// turns into bytes for the patcher; the build fails if the image needs any
// relocation, so the bytes run wherever they are mapped.
#include <asm/unistd.h>
#include <linux/mman.h>
#include <stdint.h>

#include "shim/seal/seal.h"

namespace {

// Written by the patcher (plan.cc): where this blob's segment lies, relative
// to the blob's first byte (the parameter block), and how big it is. The
// blob starts on its own page at the end of the segment.
struct Params {
  uint64_t data_before_blob;  // bytes of the segment before the blob (page multiple)
  uint64_t segment_size;      // the whole segment, blob included
};

// First in the image (blob.ld): the patcher finds it at offset 0. Volatile
// reads: the compiler must not fold the zeros it sees at build time.
__attribute__((section(".netleash.params"), used)) volatile Params g_params = {0, 0};

constexpr uint64_t kPage = 4096;  // x86_64: the only page size

}  // namespace

// DT_PREINIT_ARRAY functions get (argc, argv, envp); the hook needs none.
extern "C" __attribute__((used)) void netleash_preinit_entry(int, char**, char**) {
  // A failure is not reported here (no libc yet): the shim's constructor
  // tries again and reports, and the process gets no network either way.
  const netleash::seal::Result sealed = netleash::seal::seal_process(false);
  // The shim offers whatever listener waits at kTreeListenerFd to the daemon
  // as this process's tree: only one this seal made may be there, never one
  // an exec'ing parent left at that number.
  if (sealed.outcome != netleash::seal::Outcome::kSealed || sealed.tree_error != 0)
    netleash::seal::raw_syscall(__NR_close, netleash::seal::kTreeListenerFd);

  // The segment was mapped R+W+X so that this code could run. Drop X from the
  // data pages and W from the code pages; executing from the code pages
  // stays possible throughout, so no page is ever writable and executable
  // again once this returns.
  const uint64_t blob = reinterpret_cast<uint64_t>(&g_params);
  const uint64_t before = g_params.data_before_blob;
  const uint64_t size = g_params.segment_size;
  const uint64_t code_size = (size - before + kPage - 1) & ~(kPage - 1);
  netleash::seal::raw_syscall(__NR_mprotect, static_cast<long>(blob), static_cast<long>(code_size),
                              PROT_READ | PROT_EXEC);
  if (before != 0) {
    netleash::seal::raw_syscall(__NR_mprotect, static_cast<long>(blob - before),
                                static_cast<long>(before), PROT_READ | PROT_WRITE);
  }
}
