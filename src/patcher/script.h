// `#!` scripts given to netleash-patch: the kernel runs their interpreter, so the
// interpreter is the ELF file to patch (a copy of it), and the refusal says which.
#pragma once

#include <optional>
#include <string>

namespace netleash::elf {

// When the file open at `fd` starts with "#!", the refusal reason naming its interpreter
// (through /usr/bin/env: the command and where PATH finds it); otherwise nullopt.
std::optional<std::string> script_refusal(int fd);

}  // namespace netleash::elf
