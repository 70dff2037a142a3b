// The identity record API shared with netleashd (which reads the application id from the
// executable of each connecting process, /proc/PID/exe).
#pragma once

#include <string>

namespace netleash::elf {
// Reads the application id recorded by netleash-patch from the ELF file open at fd
// (uses pread only; the file offset is not changed). Finds the note through the
// program headers (PT_NOTE), so it works on stripped files.
// Returns true and sets *app when a record exists; returns false with *error empty
// when the file is a valid ELF without a record; false with *error set when the
// file is not a readable ELF. Never throws. Bounded work for hostile files.
bool read_app_id(int fd, std::string* app, std::string* error);
}  // namespace netleash::elf
