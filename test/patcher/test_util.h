// Helpers for the patcher unit tests: files as byte vectors, memfds, and the pipeline.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "patcher/classify.h"
#include "common/elf/elf_file.h"
#include "patcher/plan.h"
#include "patcher/validate.h"
#include "patcher/writer.h"

namespace nltest {

using Bytes = std::vector<unsigned char>;
using namespace netleash::elf;

// The fixture: a small dynamically linked PIE every Debian system has.
inline const char* kFixture = "/usr/bin/true";

inline Bytes read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

// An fd holding `bytes` (closed by the destructor).
struct MemFd {
  int fd;
  explicit MemFd(const Bytes& bytes) : fd(memfd_create("nltest", MFD_CLOEXEC)) {
    if (fd < 0 || write(fd, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size())) {
      throw std::runtime_error("memfd");
    }
  }
  ~MemFd() { close(fd); }
  MemFd(const MemFd&) = delete;
  MemFd& operator=(const MemFd&) = delete;
  Bytes contents() const {
    off_t size = lseek(fd, 0, SEEK_END);
    Bytes out(static_cast<size_t>(size));
    if (pread(fd, out.data(), out.size(), 0) != size) throw std::runtime_error("pread");
    return out;
  }
};

inline Request patch_request(const std::string& app, const std::string& shim = "libnetleash.so.1") {
  Request r;
  r.app = app;
  r.shim = shim;
  return r;
}

inline Request remove_request() {
  Request r;
  r.op = Request::Op::Remove;
  return r;
}

// Runs read -> classify -> plan -> validate -> write. Returns nullopt when unchanged;
// throws ElfError when refused or invalid.
inline std::optional<Bytes> run_pipeline(const Bytes& input, const Request& request) {
  MemFd in(input);
  FileView view(in.fd);
  ElfFile file = read_elf(view);
  Classification cls = classify(file, FileFacts{});
  if (cls.hard_reason) throw ElfError(*cls.hard_reason);
  std::optional<Plan> plan = make_plan(file, cls, request);
  if (!plan) return std::nullopt;
  std::vector<std::string> problems = validate(file, *plan);
  if (!problems.empty()) throw ElfError("invalid plan: " + problems.front());
  MemFd out(Bytes{});
  write_plan(in.fd, out.fd, *plan);
  return out.contents();
}

template <typename T>
T get(const Bytes& bytes, uint64_t offset) {
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  return value;
}

template <typename T>
void put(Bytes& bytes, uint64_t offset, const T& value) {
  std::memcpy(bytes.data() + offset, &value, sizeof(T));
}

inline Phdr phdr_at(const Bytes& bytes, size_t index) {
  Ehdr eh = get<Ehdr>(bytes, 0);
  return get<Phdr>(bytes, eh.e_phoff + index * sizeof(Phdr));
}

inline void set_phdr(Bytes& bytes, size_t index, const Phdr& p) {
  Ehdr eh = get<Ehdr>(bytes, 0);
  put(bytes, eh.e_phoff + index * sizeof(Phdr), p);
}

inline std::optional<size_t> find_phdr(const Bytes& bytes, uint32_t type) {
  Ehdr eh = get<Ehdr>(bytes, 0);
  for (size_t i = 0; i < eh.e_phnum; ++i) {
    if (phdr_at(bytes, i).p_type == type) return i;
  }
  return std::nullopt;
}

}  // namespace nltest
