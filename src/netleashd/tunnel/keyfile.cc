#include "netleashd/tunnel/keyfile.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <utility>

namespace netleash::tunnel {
namespace {

constexpr std::size_t kBase64KeyLen = 44;  // 4 * ceil(32 / 3)
constexpr int kVariant = sodium_base64_VARIANT_ORIGINAL;

[[noreturn]] void fail(const std::string& path, const std::string& reason) {
  throw KeyFileError(path + ": " + reason);
}

[[noreturn]] void fail_errno(const std::string& path, const std::string& what) {
  fail(path, what + ": " + std::strerror(errno));
}

// Closes the descriptor on every path out.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  [[nodiscard]] int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

std::optional<Secret<kDhLen>> decode_key(std::string_view text) {
  if (text.size() != kBase64KeyLen) return std::nullopt;
  Secret<kDhLen> key;
  std::size_t length = 0;
  const char* end = nullptr;
  if (sodium_base642bin(key.data(), key.size(), text.data(), text.size(), nullptr, &length, &end,
                        kVariant) != 0 ||
      length != kDhLen || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return key;
}

void write_all(int fd, ByteView bytes, const std::string& path) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail_errno(path, "cannot write");
    bytes = bytes.subspan(static_cast<std::size_t>(n));
  }
}

std::string temporary_name(const std::string& path) {
  std::array<uint8_t, 8> random{};
  randombytes_buf(random.data(), random.size());
  std::array<char, 17> hex{};
  sodium_bin2hex(hex.data(), hex.size(), random.data(), random.size());
  return path + ".tmp-" + hex.data();
}

// The temporary file: written, synced and closed, not yet in place.
void write_temporary(const std::string& temp, ByteView contents, const std::string& path) {
  Fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (fd.get() < 0) fail_errno(path, "cannot create " + temp);
  // The umask may only have removed bits; say 0600 exactly.
  if (::fchmod(fd.get(), 0600) != 0) fail_errno(path, "cannot chmod " + temp);
  write_all(fd.get(), contents, path);
  if (::fsync(fd.get()) != 0) fail_errno(path, "cannot fsync " + temp);
  if (::close(fd.release()) != 0) fail_errno(path, "cannot close " + temp);
}

void sync_directory(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  const std::string dir = parent.empty() ? std::string(".") : parent.string();
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0 || ::fsync(fd.get()) != 0) fail_errno(path, "cannot fsync directory " + dir);
}

}  // namespace

std::string key_to_base64(ByteView key) {
  std::array<char, kBase64KeyLen + 1> text{};
  sodium_bin2base64(text.data(), text.size(), key.data(), key.size(), kVariant);
  std::string result(text.data(), kBase64KeyLen);
  sodium_memzero(text.data(), text.size());
  return result;
}

std::optional<PublicKey> public_key_from_base64(std::string_view text) {
  const auto key = decode_key(text);
  if (!key) return std::nullopt;
  PublicKey result{};
  std::copy_n(key->data(), kDhLen, result.begin());
  return result;
}

std::string generate_key_file(const std::string& path) {
  const KeyPair pair = generate_keypair();
  std::array<char, kBase64KeyLen + 1> text{};
  sodium_bin2base64(text.data(), text.size(), pair.private_key.data(), kDhLen, kVariant);
  text[kBase64KeyLen] = '\n';
  const ByteView contents(reinterpret_cast<const uint8_t*>(text.data()), text.size());

  const std::string temp = temporary_name(path);
  try {
    write_temporary(temp, contents, path);
    sodium_memzero(text.data(), text.size());
    // RENAME_NOREPLACE: an existing key is never overwritten, and the check
    // and the rename are one step.
    if (::renameat2(AT_FDCWD, temp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) != 0) {
      if (errno == EEXIST) fail(path, "already exists; refusing to overwrite a key");
      fail_errno(path, "cannot rename " + temp);
    }
  } catch (...) {
    sodium_memzero(text.data(), text.size());
    ::unlink(temp.c_str());
    throw;
  }
  sync_directory(path);
  return key_to_base64(pair.public_key);
}

KeyPair load_key_file(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (fd.get() < 0) fail_errno(path, "cannot open key file");
  // fstat on the open descriptor: no window between the check and the read.
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) fail_errno(path, "cannot stat key file");
  if (!S_ISREG(st.st_mode)) fail(path, "not a regular file");
  if ((st.st_mode & 077) != 0) {
    std::array<char, 8> mode{};
    std::snprintf(mode.data(), mode.size(), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    fail(path, std::string("mode ") + mode.data() +
                   " gives group or others access to a private key; run chmod 600 " + path);
  }

  // One byte more than a valid file can hold, to notice longer ones.
  std::array<char, kBase64KeyLen + 3> buffer{};
  std::size_t used = 0;
  while (used < buffer.size()) {
    const ssize_t n = ::read(fd.get(), buffer.data() + used, buffer.size() - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail_errno(path, "cannot read key file");
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
  }
  std::string_view text(buffer.data(), used);
  if (text.ends_with('\n')) text.remove_suffix(1);
  const auto key = decode_key(text);
  sodium_memzero(buffer.data(), buffer.size());
  if (!key) fail(path, "malformed key file: expected one line of 44 base64 characters (a 32-byte X25519 key)");
  auto pair = keypair_from_private(key->view());
  if (!pair) fail(path, "not a usable X25519 private key");
  return std::move(*pair);
}

}  // namespace netleash::tunnel
