// Key files: generation (mode, atomic, no overwrite) and strict loading.
#include "netleashd/tunnel/keyfile.h"

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

using namespace netleash::tunnel;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "tunnel-keyfile-XXXXXX").string();
    path = mkdtemp(pattern.data());
  }
  ~TempDir() { fs::remove_all(path); }
};

void write_file(const fs::path& path, const std::string& contents, mode_t mode) {
  fs::remove(path);  // an earlier 0400 file would not be writable without root
  std::ofstream(path) << contents;
  chmod(path.c_str(), mode);
}

std::string error_of(const std::string& path) {
  try {
    (void)load_key_file(path);
  } catch (const KeyFileError& e) {
    return e.what();
  }
  return "loaded";
}

}  // namespace

TEST_CASE("generate_key_file writes a 0600 key whose public key it returns", "[keyfile]") {
  TempDir dir;
  const std::string path = (dir.path / "host.key").string();
  const std::string public_b64 = generate_key_file(path);
  CHECK(public_b64.size() == 44);

  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  CHECK(st.st_size == 45);
  CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 1);

  const KeyPair pair = load_key_file(path);
  CHECK(key_to_base64(pair.public_key) == public_b64);
  CHECK(public_key_from_base64(public_b64) == pair.public_key);

  const std::string again = [&] {
    try {
      (void)generate_key_file(path);
    } catch (const KeyFileError& e) {
      return std::string(e.what());
    }
    return std::string("overwrote");
  }();
  CHECK(again == path + ": already exists; refusing to overwrite a key");
  CHECK(load_key_file(path).public_key == pair.public_key);
  CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 1);
  CHECK_THROWS_AS(generate_key_file((dir.path / "missing" / "x.key").string()), KeyFileError);
}

TEST_CASE("load_key_file refuses readable, malformed and odd files", "[keyfile]") {
  TempDir dir;
  const std::string good = "YNqHwpcAmVdIaBBbBXZ5ycvPIEgs3QlKNl5WpbkGonM=";
  const std::string path = (dir.path / "k").string();

  write_file(path, good + "\n", 0644);
  CHECK(error_of(path) == path + ": mode 0644 gives group or others access to a private key; run chmod 600 " + path);
  write_file(path, good + "\n", 0604);
  CHECK(error_of(path).find("mode 0604") != std::string::npos);
  write_file(path, good + "\n", 0620);
  CHECK(error_of(path).find("mode 0620") != std::string::npos);

  write_file(path, good + "\n", 0600);
  CHECK(error_of(path) == "loaded");
  write_file(path, good, 0400);
  CHECK(error_of(path) == "loaded");

  for (const std::string& bad : {std::string(""), good.substr(1), good + "\n\n", good + " ",
                                 "!" + good.substr(1), good.substr(0, 43) + "A",
                                 std::string(200, 'A')}) {
    write_file(path, bad, 0600);
    CHECK(error_of(path).starts_with(path + ": malformed key file"));
  }
  CHECK(error_of((dir.path / "absent").string()).starts_with((dir.path / "absent").string() + ": cannot open"));
  CHECK(error_of(dir.path.string()).find("not a regular file") != std::string::npos);
  CHECK_FALSE(public_key_from_base64("short"));
  CHECK_FALSE(public_key_from_base64(good.substr(0, 42) + "N="));  // non-zero padding bits
}
