// The validate pass: checks the headers a plan would produce before a byte is written.
//
// These are the invariants whose violation broke binaries in patchelf's and LIEF's
// history (see docs in research): PT_LOAD offset ≡ vaddr (mod align), PT_LOADs sorted and
// not overlapping, PT_PHDR/PT_DYNAMIC/PT_NOTE/PT_INTERP inside a PT_LOAD (LIEF 0.9 left
// PT_NOTE outside and glibc's note parser faulted), PT_DYNAMIC writable (ld.so writes
// DT_DEBUG and, for PIE, relocates d_ptr in place), DT_STRTAB/DT_STRSZ agreeing with
// .dynstr, the shim first among DT_NEEDED, and no new W+X segment.
#pragma once

#include <string>
#include <vector>

#include "common/elf/elf_file.h"
#include "patcher/plan.h"

namespace netleash::elf {

// Returns the problems found; empty means the plan is safe to write.
// The written output (fd) carries the identity record the request asked for (or
// none after a remove), read back the way netleashd reads it.
bool output_carries_request(int fd, const Request& request);

std::vector<std::string> validate(const ElfFile& input, const Plan& plan);

}  // namespace netleash::elf
