#include "patcher/preinit_hook.h"

#include <cstring>

#include "patcher/preinit/preinit_blob.h"

namespace netleash::elf {

namespace {

constexpr uint64_t kPage = 4096;  // x86_64, the only architecture with a hook
constexpr uint64_t kSlotSize = 8;

bool inside(uint64_t start, uint64_t size, uint64_t at) { return at >= start && at - start < size; }

template <typename T>
std::vector<unsigned char> bytes_of(const T& item) {
  std::vector<unsigned char> out(sizeof(T));
  std::memcpy(out.data(), &item, sizeof(T));
  return out;
}

std::optional<uint64_t> value_of(const std::vector<Dyn>& dynamic, int64_t tag) {
  for (const Dyn& d : dynamic) {
    if (d.d_tag == tag) return static_cast<uint64_t>(d.d_val);
  }
  return std::nullopt;
}

HookCheck refuse(std::string why) { return HookCheck{std::nullopt, std::move(why)}; }

}  // namespace

HookCheck check_hook(const ElfFile& file, const Base& base) {
  if (preinit::kBlobSize == 0) return refuse("this netleash-patch has no preinit hook (x86_64 only)");
  if (file.ehdr.e_machine != EM_X86_64) return refuse("the preinit hook is x86_64 only");
  if (value_of(base.dynamic, DT_PREINIT_ARRAY) || value_of(base.dynamic, DT_PREINIT_ARRAYSZ)) {
    return refuse("the program has a DT_PREINIT_ARRAY of its own (a sanitizer build?)");
  }
  if (base.tail_vaddr % kPage != 0) return refuse("the netleash segment would not start on a page");
  HookShape shape;
  if (file.ehdr.e_type == ET_EXEC) return HookCheck{shape, std::nullopt};
  if (file.ehdr.e_type != ET_DYN) return refuse("neither ET_EXEC nor ET_DYN");
  shape.pie = true;
  if (value_of(base.dynamic, DT_REL)) return refuse("the program uses DT_REL relocations");
  std::optional<uint64_t> relaent = value_of(base.dynamic, DT_RELAENT);
  if (relaent && *relaent != sizeof(Rela)) return refuse("DT_RELAENT is not 24");
  shape.add_relaent = !relaent;
  std::optional<uint64_t> rela = value_of(base.dynamic, DT_RELA);
  std::optional<uint64_t> relasz = value_of(base.dynamic, DT_RELASZ);
  if (rela.has_value() != relasz.has_value()) return refuse("DT_RELA without DT_RELASZ");
  if (!rela) return HookCheck{shape, std::nullopt};
  uint64_t size = *relasz;
  // Some linkers count .rela.plt in DT_RELASZ; glibc subtracts it again when the two
  // ranges end together. A copy no longer ends there, so leave those entries out of it
  // (they stay where DT_JMPREL says, processed once, lazily or not, as before).
  std::optional<uint64_t> jmprel = value_of(base.dynamic, DT_JMPREL);
  std::optional<uint64_t> pltrelsz = value_of(base.dynamic, DT_PLTRELSZ);
  if (jmprel && pltrelsz && *pltrelsz <= size && *rela + size == *jmprel + *pltrelsz) size -= *pltrelsz;
  if (size % sizeof(Rela) != 0) return refuse("DT_RELASZ is not a multiple of 24");
  std::optional<uint64_t> source = file.vaddr_to_offset(*rela, size);
  if (!source) return refuse("DT_RELA does not lie in the file");
  shape.rela_source = *source;
  shape.rela_copy = size;
  return HookCheck{shape, std::nullopt};
}

HookLayout layout_hook(const HookShape& shape, uint64_t segment_vaddr, uint64_t at) {
  HookLayout layout;
  at = align_up(at, 8);
  if (shape.pie) {
    layout.rela_at = at;
    layout.rela_size = shape.rela_copy + sizeof(Rela);
    at += layout.rela_size;
  }
  layout.slot_at = at;
  at += kSlotSize;
  // The blob gets pages of its own: it makes them R+X and the rest R+W.
  layout.blob_at = align_up(segment_vaddr + at, kPage) - segment_vaddr;
  layout.end = layout.blob_at + preinit::kBlobSize;
  return layout;
}

uint64_t hook_entry_vaddr(const HookLayout& layout, uint64_t V) {
  return V + layout.blob_at + preinit::kEntryOffset;
}

std::vector<Dyn> hook_dynamic(const HookShape& shape, const HookLayout& layout, uint64_t V) {
  auto entry = [](int64_t tag, uint64_t value) {
    Dyn d;
    d.d_tag = tag;
    d.d_val = value;
    return d;
  };
  std::vector<Dyn> out = {entry(DT_PREINIT_ARRAY, V + layout.slot_at), entry(DT_PREINIT_ARRAYSZ, kSlotSize)};
  if (shape.pie) {
    out.push_back(entry(DT_RELA, V + layout.rela_at));
    out.push_back(entry(DT_RELASZ, layout.rela_size));
    if (shape.add_relaent) out.push_back(entry(DT_RELAENT, sizeof(Rela)));
  }
  return out;
}

std::vector<HookPiece> hook_pieces(const HookShape& shape, const HookLayout& layout, uint64_t V) {
  std::vector<HookPiece> out;
  const uint64_t entry = hook_entry_vaddr(layout, V);
  if (shape.pie) {
    if (shape.rela_copy != 0) out.push_back(HookPiece{layout.rela_at, {}, shape.rela_source, shape.rela_copy});
    Rela slot;
    slot.r_offset = V + layout.slot_at;
    slot.r_info = R_X86_64_RELATIVE;
    slot.r_addend = static_cast<int64_t>(entry);
    out.push_back(HookPiece{layout.rela_at + shape.rela_copy, bytes_of(slot)});
  }
  out.push_back(HookPiece{layout.slot_at, bytes_of(entry)});
  std::vector<unsigned char> blob(preinit::kBlob, preinit::kBlob + preinit::kBlobSize);
  const uint64_t params[2] = {layout.blob_at, layout.end};  // see preinit_entry.cc
  std::memcpy(blob.data(), params, sizeof params);  // little-endian target
  out.push_back(HookPiece{layout.blob_at, std::move(blob)});
  return out;
}

bool has_hook(const ElfFile& file, const Classification& cls) {
  if (!cls.record) return false;
  for (const Phdr& p : file.phdrs) {
    if (p.p_type != PT_LOAD || !inside(p.p_offset, p.p_filesz, cls.record->note.offset)) continue;
    for (const Dyn& d : file.dynamic) {
      if (d.d_tag == DT_PREINIT_ARRAY && inside(p.p_vaddr, p.p_memsz, d.d_val)) return true;
    }
  }
  return false;
}

}  // namespace netleash::elf
