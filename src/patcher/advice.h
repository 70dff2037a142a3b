// What netleash-patch tells the operator beyond "done" or "refused": how to confine a
// program it cannot patch, and what a patched copy may break or keep. Each message is
// one line for after "netleash-patch: FILE: ".
#pragma once

#include <optional>
#include <string>

#include "patcher/classify.h"
#include "common/elf/elf_file.h"

namespace netleash::elf {

// For a refusal the operator can work around (static, static-pie, Go): what to do
// instead, to append to the reason; nullopt otherwise.
std::optional<std::string> refusal_advice(const Classification& cls, const std::string& input);

// The warning for `-o OUT` into another directory than FILE: a program that finds
// files next to itself ($ORIGIN in RUNPATH/RPATH, java, browsers, postgres) breaks.
std::optional<std::string> relocation_warning(const ElfFile& file, const std::string& input,
                                              const std::string& output);

// For a set-id or capability file patched with --allow-setuid: the copy keeps the
// privilege, and what that means.
std::string privilege_note(const FileFacts& facts);

}  // namespace netleash::elf
