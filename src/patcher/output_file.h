// Atomic replacement of a file: a temporary file in the destination's directory, written,
// given the source's owner/mode (and capabilities when asked), fsync'ed, then renamed over
// the destination. Until commit() nothing visible changes; on any failure (or destruction
// without commit) the temporary file is removed.
#pragma once

#include <sys/stat.h>

#include <string>

namespace netleash::elf {

// The directory part of `path` ("." when it has none): where the temporary file goes,
// and what `-o` moving a program to another directory is judged by (advice.h).
std::string directory_of(const std::string& path);

class AtomicOutput {
 public:
  explicit AtomicOutput(const std::string& destination);  // throws std::system_error
  ~AtomicOutput();
  AtomicOutput(const AtomicOutput&) = delete;
  AtomicOutput& operator=(const AtomicOutput&) = delete;

  int fd() const { return fd_; }
  // Copies ownership (when running as root) and mode bits of `like`, and the
  // security.capability xattr of `like_fd` when `keep_capabilities`, then publishes.
  void commit(const struct stat& like, int like_fd, bool keep_capabilities);

 private:
  std::string destination_;
  std::string temp_;
  int fd_ = -1;
  bool committed_ = false;
};

}  // namespace netleash::elf
