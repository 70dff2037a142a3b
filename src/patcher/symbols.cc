#include "patcher/symbols.h"

#include <cstring>

namespace netleash::elf {

std::vector<Piece> relocate_symbols(const FileView& view, const std::vector<Shdr>& input_shdrs,
                                    const std::vector<Shdr>& output_shdrs,
                                    const std::map<uint32_t, uint64_t>& delta_by_section) {
  constexpr uint64_t kChunk = 4096;  // symbols per read: memory stays flat for huge tables
  std::vector<Piece> pieces;
  if (delta_by_section.empty()) return pieces;
  for (size_t i = 0; i < input_shdrs.size() && i < output_shdrs.size(); ++i) {
    const Shdr& in = input_shdrs[i];
    if (in.sh_type != SHT_SYMTAB || in.sh_entsize != sizeof(Sym)) continue;
    uint64_t count = in.sh_size / sizeof(Sym);
    for (uint64_t first = 0; first < count; first += kChunk) {
      uint64_t n = std::min(kChunk, count - first);
      std::vector<unsigned char> bytes =
          view.read(in.sh_offset + first * sizeof(Sym), n * sizeof(Sym), ".symtab");
      for (uint64_t k = 0; k < n; ++k) {
        Sym sym;
        std::memcpy(&sym, bytes.data() + k * sizeof(Sym), sizeof(Sym));
        auto moved = delta_by_section.find(sym.st_shndx);
        if (sym.st_shndx == SHN_UNDEF || moved == delta_by_section.end()) continue;
        sym.st_value = sym.st_value + moved->second;  // modular: deltas may be "negative"
        std::vector<unsigned char> entry(sizeof(Sym));
        std::memcpy(entry.data(), &sym, sizeof(Sym));
        pieces.push_back(
            Piece{output_shdrs[i].sh_offset + (first + k) * sizeof(Sym), entry, 0, 0});
      }
    }
  }
  return pieces;
}

}  // namespace netleash::elf
