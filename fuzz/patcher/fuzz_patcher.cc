// libFuzzer target over the whole patcher pipeline: read -> classify -> plan -> validate
// -> write (into a memfd), plus read_app_id. Inputs are fed through a memfd so the code
// under test uses the same pread/copy_file_range paths as on real files.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <system_error>

#include "patcher/classify.h"
#include "common/elf/elf_file.h"
#include "common/elf/identity_record.h"
#include "patcher/plan.h"
#include "patcher/validate.h"
#include "patcher/writer.h"

namespace {

int memfd_with(const uint8_t* data, size_t size) {
  int fd = memfd_create("fuzz-input", MFD_CLOEXEC);
  if (fd < 0) return -1;
  size_t done = 0;
  while (done < size) {
    ssize_t n = write(fd, data + done, size - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  return fd;
}

void patch_once(int in_fd, const netleash::elf::Request& request) {
  using namespace netleash::elf;
  try {
    FileView view(in_fd);
    ElfFile file = read_elf(view);
    Classification cls = classify(file, FileFacts{});
    if (cls.hard_reason) return;
    std::optional<Plan> plan = make_plan(file, cls, request);
    if (!plan || !validate(file, *plan).empty()) return;
    if (plan->output_size > (64u << 20)) return;  // keep memfds small
    int out = memfd_create("fuzz-output", MFD_CLOEXEC);
    if (out < 0) return;
    write_plan(in_fd, out, *plan);
    // An output whose record does not read back is refused by netleash-patch
    // (output_carries_request); it must never crash the reader either.
    output_carries_request(out, request);
    close(out);
  } catch (const ElfError&) {
  } catch (const std::system_error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  int fd = memfd_with(data, size);
  if (fd < 0) return 0;
  std::string app, error;
  netleash::elf::read_app_id(fd, &app, &error);

  netleash::elf::Request patch;
  patch.app = "fuzz.app";
  patch.shim = "libnetleash.so.1";
  patch_once(fd, patch);
  netleash::elf::Request remove;
  remove.op = netleash::elf::Request::Op::Remove;
  patch_once(fd, remove);
  close(fd);
  return 0;
}
