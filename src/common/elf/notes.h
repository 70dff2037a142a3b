// ELF notes found through PT_NOTE program headers (the loader's view), so they are found
// in stripped files too, and the encoding of netleash's identity note.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/elf/elf_file.h"

namespace netleash::elf {

struct Note {
  size_t phdr_index = 0;  // the PT_NOTE containing it
  uint64_t offset = 0;    // file offset of the note header
  uint64_t size = 0;      // header + padded name + padded descriptor
  std::string owner;
  uint32_t type = 0;
  std::vector<unsigned char> desc;
};

// Calls `visit` for every well-formed note of every PT_NOTE (at most kMaxNoteSegmentBytes
// of each); stops early when `visit` returns false. Malformed note segments are skipped.
void for_each_note(const ElfFile& file, const std::function<bool(const Note&)>& visit);

// True when the file bytes [offset, offset+size) are well-formed notes padded to `align`
// that fill the range exactly, so a note appended after them is reachable by any parser.
bool notes_fill_exactly(const FileView& view, uint64_t offset, uint64_t size, uint64_t align);

// The netleash identity note, if present. The app id is the descriptor up to its NUL;
// throws ElfError when the record exists but is malformed.
struct IdentityNote {
  Note note;
  std::string app;
};
std::optional<IdentityNote> find_identity_note(const ElfFile& file);

// Bytes of an identity note for `app`: namesz, descsz, type, "netleash\0" and the app id +
// NUL, each padded to `align` (4, or 8 inside an 8-aligned note segment).
std::vector<unsigned char> encode_identity_note(const std::string& app, uint64_t align = 4);

}  // namespace netleash::elf
