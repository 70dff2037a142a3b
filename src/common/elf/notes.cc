#include "common/elf/notes.h"

#include <cstring>

namespace netleash::elf {

void for_each_note(const ElfFile& file, const std::function<bool(const Note&)>& visit) {
  for (size_t i = 0; i < file.phdrs.size(); ++i) {
    const Phdr& p = file.phdrs[i];
    if (p.p_type != PT_NOTE) continue;
    // Notes are padded to the segment alignment: 4 or 8 (gABI; glibc's dl-prop.h treats
    // anything else as not a note segment).
    uint64_t align = p.p_align <= 4 ? 4 : uint64_t{p.p_align};
    if (align != 4 && align != 8) continue;
    uint64_t length = std::min<uint64_t>(p.p_filesz, kMaxNoteSegmentBytes);
    if (!file.view->contains(p.p_offset, length)) continue;
    std::vector<unsigned char> bytes = file.view->read(p.p_offset, length, "PT_NOTE");
    uint64_t at = 0;
    while (length - at >= sizeof(Nhdr)) {
      Nhdr h;
      std::memcpy(&h, bytes.data() + at, sizeof(Nhdr));
      // Offsets as glibc's ELF_NOTE_DESC_OFFSET/ELF_NOTE_NEXT_OFFSET and readelf compute them.
      uint64_t name_at = at + sizeof(Nhdr);
      uint64_t desc_at = at + align_up(sizeof(Nhdr) + h.n_namesz, align);
      uint64_t end = desc_at + align_up(h.n_descsz, align);
      // The last note may omit its trailing padding.
      if (desc_at > length || h.n_descsz > length - desc_at) break;
      Note note;
      note.phdr_index = i;
      note.offset = p.p_offset + at;
      note.size = std::min(end, length) - at;
      uint64_t name_len = h.n_namesz;
      while (name_len > 0 && bytes[name_at + name_len - 1] == 0) --name_len;
      note.owner.assign(reinterpret_cast<const char*>(bytes.data() + name_at), name_len);
      note.type = h.n_type;
      note.desc.assign(bytes.begin() + static_cast<long>(desc_at),
                       bytes.begin() + static_cast<long>(desc_at + h.n_descsz));
      if (!visit(note)) return;
      if (end >= length) break;
      at = end;
    }
  }
}

bool notes_fill_exactly(const FileView& view, uint64_t offset, uint64_t size, uint64_t align) {
  if (size > kMaxNoteSegmentBytes || !view.contains(offset, size)) return false;
  std::vector<unsigned char> bytes = view.read(offset, size, "PT_NOTE");
  uint64_t at = 0;
  while (at < size) {
    if (size - at < sizeof(Nhdr)) return false;
    Nhdr h;
    std::memcpy(&h, bytes.data() + at, sizeof(Nhdr));
    uint64_t next = at + align_up(sizeof(Nhdr) + h.n_namesz, align) + align_up(h.n_descsz, align);
    if (next > size) return false;
    at = next;
  }
  return true;
}

std::optional<IdentityNote> find_identity_note(const ElfFile& file) {
  std::optional<IdentityNote> found;
  for_each_note(file, [&](const Note& note) {
    if (note.owner != kNoteOwner || note.type != NT_NETLEASH_APP) return true;
    const void* nul = std::memchr(note.desc.data(), 0, note.desc.size());
    if (nul == nullptr || nul == note.desc.data()) {
      throw ElfError("corrupt netleash identity record");
    }
    found = IdentityNote{note, std::string(reinterpret_cast<const char*>(note.desc.data()))};
    return false;
  });
  return found;
}

std::vector<unsigned char> encode_identity_note(const std::string& app, uint64_t align) {
  const uint64_t namesz = sizeof(kNoteOwner);  // includes the NUL
  const uint64_t descsz = app.size() + 1;
  // With align 8 the header (12 bytes) is followed by the name padded so the descriptor
  // starts 8-aligned: ELF_NOTE_DESC_OFFSET in glibc, as readelf computes it.
  const uint64_t desc_at = align_up(sizeof(Nhdr) + namesz, align);
  std::vector<unsigned char> out(desc_at + align_up(descsz, align), 0);
  Nhdr h;
  h.n_namesz = static_cast<uint32_t>(namesz);
  h.n_descsz = static_cast<uint32_t>(descsz);
  h.n_type = NT_NETLEASH_APP;
  std::memcpy(out.data(), &h, sizeof h);
  std::memcpy(out.data() + sizeof h, kNoteOwner, namesz);
  std::memcpy(out.data() + desc_at, app.data(), app.size());
  return out;
}

}  // namespace netleash::elf
