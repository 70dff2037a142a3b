#include "common/elf/identity_record.h"

#include <exception>

#include "common/elf/elf_file.h"
#include "common/elf/notes.h"

namespace netleash::elf {

// Only the ELF header, the program headers and the PT_NOTE segments (each read up to
// kMaxNoteSegmentBytes) are read, so the work is bounded whatever the file claims.
bool read_app_id(int fd, std::string* app, std::string* error) {
  error->clear();
  try {
    FileView view(fd);
    ElfFile file = read_program_headers(view);
    std::optional<IdentityNote> record = find_identity_note(file);
    if (!record) return false;
    *app = record->app;
    return true;
  } catch (const ElfError& e) {
    *error = e.what();
  } catch (const std::exception& e) {
    *error = std::string("cannot read ELF file: ") + e.what();
  }
  return false;
}

}  // namespace netleash::elf
