#include "patcher/writer.h"

#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace netleash::elf {

namespace {

[[noreturn]] void fail(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

void write_all(int fd, const unsigned char* data, uint64_t length, uint64_t offset) {
  while (length > 0) {
    ssize_t n = pwrite(fd, data, length, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("write");
    data += n;
    length -= static_cast<uint64_t>(n);
    offset += static_cast<uint64_t>(n);
  }
}

void copy_with_buffer(int in_fd, int out_fd, uint64_t source, uint64_t length, uint64_t offset) {
  std::vector<unsigned char> buffer(1 << 20);
  while (length > 0) {
    uint64_t chunk = std::min<uint64_t>(length, buffer.size());
    ssize_t n = pread(in_fd, buffer.data(), chunk, static_cast<off_t>(source));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("read");
    if (n == 0) {
      errno = EIO;
      fail("read (input file shrank)");
    }
    write_all(out_fd, buffer.data(), static_cast<uint64_t>(n), offset);
    source += static_cast<uint64_t>(n);
    offset += static_cast<uint64_t>(n);
    length -= static_cast<uint64_t>(n);
  }
}

void copy_range(int in_fd, int out_fd, uint64_t source, uint64_t length, uint64_t offset) {
  while (length > 0) {
    off_t in_off = static_cast<off_t>(source), out_off = static_cast<off_t>(offset);
    ssize_t n = copy_file_range(in_fd, &in_off, out_fd, &out_off, length, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      // Not supported across these file systems (EXDEV, EINVAL, ENOSYS, EOPNOTSUPP...), or
      // a short input: the plain loop either works or reports the real error.
      copy_with_buffer(in_fd, out_fd, source, length, offset);
      return;
    }
    source += static_cast<uint64_t>(n);
    offset += static_cast<uint64_t>(n);
    length -= static_cast<uint64_t>(n);
  }
}

}  // namespace

void write_plan(int in_fd, int out_fd, const Plan& plan) {
  // Sizing first leaves the alignment padding as a hole that reads as zeros.
  if (ftruncate(out_fd, static_cast<off_t>(plan.output_size)) != 0) fail("ftruncate");
  for (const Piece& piece : plan.pieces) {
    if (piece.bytes.empty()) {
      copy_range(in_fd, out_fd, piece.source, piece.length, piece.offset);
    } else {
      write_all(out_fd, piece.bytes.data(), piece.bytes.size(), piece.offset);
    }
  }
}

}  // namespace netleash::elf
