// The write pass: materialises a plan into an output file descriptor.
//
// The unchanged bulk is copied with copy_file_range (a reflink or in-kernel copy on most
// file systems; a read/write loop elsewhere), so a 100 MB executable costs about a `cp`
// and memory stays flat: only the new segment and the headers are ever in memory.
#pragma once

#include "patcher/plan.h"

namespace netleash::elf {

// Writes `plan` to `out_fd` (an empty regular file), reading copied ranges from `in_fd`.
// Throws std::system_error on I/O failure.
void write_plan(int in_fd, int out_fd, const Plan& plan);

}  // namespace netleash::elf
