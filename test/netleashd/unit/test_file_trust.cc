// The trust rule (file_trust.h) and the code check (code_check.h) on real
// files in a private directory. Changing owners needs root; elsewhere the
// ownership cases are skipped with a warning.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "netleashd/intake/code_check.h"
#include "netleashd/intake/file_trust.h"

using netleash::netleashd::FileTrust;
using netleash::netleashd::why_code_untrusted;
using netleash::netleashd::why_maps_untrusted;

namespace {

constexpr uid_t kOther = 65534;

class Tree {
 public:
  Tree() {
    char pattern[] = "/tmp/netleash-trust-XXXXXX";
    REQUIRE(mkdtemp(pattern) != nullptr);
    root_ = pattern;
  }
  ~Tree() { std::filesystem::remove_all(root_); }
  std::string dir(const std::string& name, mode_t mode, uid_t owner = 0) const {
    const std::string path = root_ + "/" + name;
    std::filesystem::create_directories(path);
    REQUIRE(chown(path.c_str(), owner, static_cast<gid_t>(-1)) == 0);
    REQUIRE(chmod(path.c_str(), mode) == 0);
    return path;
  }
  std::string file(const std::string& name, mode_t mode, uid_t owner = 0) const {
    const std::string path = root_ + "/" + name;
    const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    REQUIRE(fd >= 0);
    close(fd);
    REQUIRE(chown(path.c_str(), owner, static_cast<gid_t>(-1)) == 0);
    REQUIRE(chmod(path.c_str(), mode) == 0);
    return path;
  }
  const std::string& root() const { return root_; }

 private:
  std::string root_;
};

std::string verdict(const FileTrust& trust, const std::string& path) {
  struct stat st{};
  REQUIRE(stat(path.c_str(), &st) == 0);
  return trust.why_untrusted(-1, path, st);
}

}  // namespace

TEST_CASE("the trust rule: owners and modes of the file and every directory above") {
  if (geteuid() != 0) {
    WARN("not root: ownership cases skipped");
    return;
  }
  const Tree tree;
  const FileTrust trust;
  tree.dir("bin", 0755);
  CHECK(verdict(trust, tree.file("bin/ok", 0755)).empty());
  const std::string theirs = tree.file("bin/theirs", 0755, kOther);
  CHECK(verdict(trust, theirs) ==
        "executable " + theirs + " is owned by uid 65534, not by root or a trusted owner");
  CHECK(verdict(FileTrust({kOther}), theirs).empty());
  const std::string group = tree.file("bin/group", 0775);
  CHECK(verdict(trust, group) == "executable " + group + " is writable by group");
  const std::string others = tree.file("bin/others", 0757);
  CHECK(verdict(trust, others) == "executable " + others + " is writable by others");

  const std::string open_dir = tree.dir("open", 0777);
  const std::string in_open = tree.file("open/x", 0755);
  CHECK(verdict(trust, in_open) == "directory " + open_dir + " is writable by others");
  // Sticky and root-owned: only root may replace root's entry there.
  tree.dir("open", 01777);
  CHECK(verdict(trust, in_open).empty());
  // ... not an entry of someone else's, even a directory holding root's file.
  const std::string their_dir = tree.dir("open/sub", 0755, kOther);
  CHECK(verdict(trust, tree.file("open/sub/x", 0755)) ==
        "directory " + their_dir + " is owned by uid 65534, not by root or a trusted owner");
  // A trusted owner's entry in a root sticky directory is fine.
  CHECK(verdict(FileTrust({kOther}), tree.file("open/sub/y", 0755)).empty());
  // A sticky directory owned by someone else guards nothing.
  const std::string their_sticky = tree.dir("sticky", 01777, kOther);
  CHECK(verdict(trust, tree.file("sticky/x", 0755)) ==
        "directory " + their_sticky + " is owned by uid 65534, not by root or a trusted owner");
}

TEST_CASE("a path that no longer names the file is refused") {
  const Tree tree;
  const std::string path = tree.file("x", 0755, geteuid());
  struct stat st{};
  REQUIRE(stat(path.c_str(), &st) == 0);
  // Looked up under a process's root, as the daemon does (/proc/PID/root).
  const int root = open("/proc/self/root", O_PATH | O_DIRECTORY | O_CLOEXEC);
  REQUIRE(root >= 0);
  if (geteuid() == 0) CHECK(FileTrust().why_untrusted(root, path, st).empty());
  close(root);
  REQUIRE(rename(path.c_str(), (path + ".moved").c_str()) == 0);
  CHECK(FileTrust().why_untrusted(-1, path, st) ==
        "executable " + path + " is no longer at that path (deleted, moved or replaced since it "
                               "was opened)");
  CHECK(FileTrust().why_untrusted(-1, "relative", st, "library") ==
        "library relative is not an absolute path");
}

TEST_CASE("the code check reads every executable file mapping") {
  FileTrust trust;
  CHECK(why_code_untrusted(getpid(), -1, trust).empty());  // this test's own code
  const std::string self = std::filesystem::canonical("/proc/self/exe");
  struct stat st{};
  REQUIRE(stat(self.c_str(), &st) == 0);
  char line[512];
  std::snprintf(line, sizeof line, "00400000-00452000 r-xp 00000000 %02x:%02x %lu   %s\n",
                major(st.st_dev), minor(st.st_dev), static_cast<unsigned long>(st.st_ino),
                self.c_str());
  const std::string trusted = line;
  const std::string vdso = "7ffd1000-7ffd3000 r-xp 00000000 00:00 0      [vdso]\n";
  const std::string anonymous = "7f000000-7f001000 rwxp 00000000 00:00 0\n";
  CHECK(why_maps_untrusted(trusted + vdso + anonymous, -1, trust).empty());
  // Data mappings are not code.
  CHECK(why_maps_untrusted(trusted + "7f000000-7f001000 r--p 00000000 08:01 99 /home/u/x\n", -1, trust)
            .empty());
  CHECK(why_maps_untrusted(trusted + "7f000000-7f001000 r-xp 00000000 00:01 1234 /memfd:jit "
                                     "(deleted)\n",
                           -1, trust) ==
        "code mapped from /memfd:jit (deleted): the file no longer exists (a memfd or a deleted "
        "file)");
  CHECK(why_maps_untrusted("7f000000-7f001000 r-xp 00000000 00:0e 77 anon_inode:x\n", -1, trust) ==
        "code mapped from \"anon_inode:x\", which is not a file");
  CHECK(why_maps_untrusted("7f000000-7f001000 r-xp 00000000 08:01 42 /no/such/lib.so\n", -1, trust) ==
        "code mapped from /no/such/lib.so: that path no longer names the mapped file");
  CHECK(why_maps_untrusted("garbage\n", -1, trust) == "unreadable line in the process's memory map");
  if (geteuid() == 0) {
    const Tree tree;
    const std::string lib = tree.file("lib.so", 0755, kOther);
    REQUIRE(stat(lib.c_str(), &st) == 0);
    std::snprintf(line, sizeof line, "7f000000-7f001000 r-xp 00000000 %x:%x %lu %s\n",
                  major(st.st_dev), minor(st.st_dev), static_cast<unsigned long>(st.st_ino),
                  lib.c_str());
    CHECK(why_maps_untrusted(trusted + line, -1, trust) ==
          "library " + lib + " is owned by uid 65534, not by root or a trusted owner");
  }
}
