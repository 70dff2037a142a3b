// Symbols that follow moved sections.
//
// A symbol defined in a section holds an address inside it (st_value). When .dynamic,
// .dynstr or a note section moves, its section symbol and symbols such as _DYNAMIC in
// .symtab would point at the old place, which debuggers use and eu-elflint reports
// ("_DYNAMIC symbol value does not match dynamic segment address"). .symtab is not loaded,
// so updating it changes nothing at run time. .dynsym is loaded data and is left alone.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "common/elf/elf_file.h"
#include "patcher/plan.h"

namespace netleash::elf {

// Pieces rewriting the .symtab entries (read from `input_shdrs`' location in the input,
// written at `output_shdrs`' location) whose st_shndx is a key of `delta_by_section`.
std::vector<Piece> relocate_symbols(const FileView& view, const std::vector<Shdr>& input_shdrs,
                                    const std::vector<Shdr>& output_shdrs,
                                    const std::map<uint32_t, uint64_t>& delta_by_section);

}  // namespace netleash::elf
