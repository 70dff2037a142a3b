#include "patcher/output_file.h"

#include <fcntl.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <vector>

namespace netleash::elf {

namespace {

[[noreturn]] void fail(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

std::string base_name(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

std::string directory_of(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

AtomicOutput::AtomicOutput(const std::string& destination) : destination_(destination) {
  // Same directory, so rename() is atomic and never crosses file systems.
  temp_ = directory_of(destination) + "/." + base_name(destination) + ".netleash-XXXXXX";
  std::vector<char> name(temp_.begin(), temp_.end());
  name.push_back('\0');
  fd_ = mkostemp(name.data(), O_CLOEXEC);
  if (fd_ < 0) fail("cannot create temporary file in " + directory_of(destination));
  temp_ = name.data();
}

AtomicOutput::~AtomicOutput() {
  if (fd_ >= 0) close(fd_);
  if (!committed_) unlink(temp_.c_str());
}

void AtomicOutput::commit(const struct stat& like, int like_fd, bool keep_capabilities) {
  // chown clears set-id bits, so ownership goes first and the mode after it.
  if (geteuid() == 0 && fchown(fd_, like.st_uid, like.st_gid) != 0) fail("chown");
  if (fchmod(fd_, like.st_mode & 07777) != 0) fail("chmod");
  if (keep_capabilities) {
    std::vector<char> value(256);
    ssize_t n = fgetxattr(like_fd, "security.capability", value.data(), value.size());
    if (n > 0 && fsetxattr(fd_, "security.capability", value.data(),
                           static_cast<size_t>(n), 0) != 0) {
      fail("cannot copy file capabilities");
    }
  }
  if (fsync(fd_) != 0) fail("fsync");
  if (rename(temp_.c_str(), destination_.c_str()) != 0) fail("rename to " + destination_);
  committed_ = true;
  // Make the rename itself durable.
  int dir = open(directory_of(destination_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    fsync(dir);
    close(dir);
  }
}

}  // namespace netleash::elf
