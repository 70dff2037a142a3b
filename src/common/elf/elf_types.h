// ELF structures typed per target.
//
// A target is a tag type carrying static facts (class, byte order). Structures are
// templates over the target whose fields are Integer<> wrappers, so they can be memcpy'd
// straight from file bytes and read without byte-order noise. Only ELF64 little-endian is
// instantiated today; an ELF64BE or ELF32 target would add a tag and (for ELF32) the
// differently shaped structures. Constants (PT_*, DT_*, SHT_*) come from <elf.h>.
#pragma once

#include <elf.h>

#include <cstdint>

#include "common/elf/integers.h"

namespace netleash::elf {

struct Elf64LE {
  static constexpr bool is_64 = true;
  static constexpr bool is_le = true;
  static constexpr unsigned char elf_class = ELFCLASS64;
  static constexpr unsigned char elf_data = ELFDATA2LSB;
};

template <typename E> using U16 = Integer<uint16_t, E::is_le>;
template <typename E> using U32 = Integer<uint32_t, E::is_le>;
template <typename E> using U64 = Integer<uint64_t, E::is_le>;
template <typename E> using I64 = Integer<int64_t, E::is_le>;

template <typename E> struct ElfEhdr;
template <typename E> struct ElfPhdr;
template <typename E> struct ElfShdr;
template <typename E> struct ElfDyn;

template <typename E>
  requires E::is_64
struct ElfEhdr<E> {
  unsigned char e_ident[EI_NIDENT];
  U16<E> e_type;
  U16<E> e_machine;
  U32<E> e_version;
  U64<E> e_entry;
  U64<E> e_phoff;
  U64<E> e_shoff;
  U32<E> e_flags;
  U16<E> e_ehsize;
  U16<E> e_phentsize;
  U16<E> e_phnum;
  U16<E> e_shentsize;
  U16<E> e_shnum;
  U16<E> e_shstrndx;
};

template <typename E>
  requires E::is_64
struct ElfPhdr<E> {
  U32<E> p_type;
  U32<E> p_flags;
  U64<E> p_offset;
  U64<E> p_vaddr;
  U64<E> p_paddr;
  U64<E> p_filesz;
  U64<E> p_memsz;
  U64<E> p_align;
};

template <typename E>
  requires E::is_64
struct ElfShdr<E> {
  U32<E> sh_name;
  U32<E> sh_type;
  U64<E> sh_flags;
  U64<E> sh_addr;
  U64<E> sh_offset;
  U64<E> sh_size;
  U32<E> sh_link;
  U32<E> sh_info;
  U64<E> sh_addralign;
  U64<E> sh_entsize;
};

template <typename E>
  requires E::is_64
struct ElfDyn<E> {
  I64<E> d_tag;
  U64<E> d_val;
};

template <typename E> struct ElfSym;
template <typename E> struct ElfRela;

template <typename E>
  requires E::is_64
struct ElfRela<E> {
  U64<E> r_offset;
  U64<E> r_info;
  I64<E> r_addend;
};

template <typename E>
  requires E::is_64
struct ElfSym<E> {
  U32<E> st_name;
  unsigned char st_info;
  unsigned char st_other;
  U16<E> st_shndx;
  U64<E> st_value;
  U64<E> st_size;
};

// Note header; the same shape for every class.
template <typename E>
struct ElfNhdr {
  U32<E> n_namesz;
  U32<E> n_descsz;
  U32<E> n_type;
};

static_assert(sizeof(ElfEhdr<Elf64LE>) == 64);
static_assert(sizeof(ElfPhdr<Elf64LE>) == 56);
static_assert(sizeof(ElfShdr<Elf64LE>) == 64);
static_assert(sizeof(ElfDyn<Elf64LE>) == 16);
static_assert(sizeof(ElfNhdr<Elf64LE>) == 12);
static_assert(sizeof(ElfSym<Elf64LE>) == 24);
static_assert(sizeof(ElfRela<Elf64LE>) == 24);

// The identity record: owner "netleash", type NT_NETLEASH_APP, descriptor = app id text.
inline constexpr char kNoteOwner[] = "netleash";
inline constexpr uint32_t NT_NETLEASH_APP = 1;
inline constexpr char kNoteSectionName[] = ".note.netleash.app";

}  // namespace netleash::elf
