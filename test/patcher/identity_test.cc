// The identity record (read_app_id, the note encoding) and the command-line rules.
#include <catch2/catch.hpp>

#include "patcher/cli.h"
#include "common/elf/identity_record.h"
#include "common/elf/notes.h"
#include "test_util.h"

using namespace nltest;

TEST_CASE("read_app_id: not ELF, unpatched and patched files", "[identity]") {
  std::string app = "unchanged", error;
  MemFd text(Bytes{'h', 'e', 'l', 'l', 'o', '\n'});
  CHECK_FALSE(read_app_id(text.fd, &app, &error));
  CHECK(error == "not an ELF file");
  CHECK(app == "unchanged");

  Bytes input = read_file(kFixture);
  MemFd plain(input);
  CHECK_FALSE(read_app_id(plain.fd, &app, &error));
  CHECK(error.empty());

  MemFd patched(run_pipeline(input, patch_request("web.frontend@2+x")).value());
  CHECK(read_app_id(patched.fd, &app, &error));
  CHECK(app == "web.frontend@2+x");
  CHECK(error.empty());
  // pread only: the file offset is untouched.
  CHECK(lseek(patched.fd, 0, SEEK_CUR) == static_cast<off_t>(patched.contents().size()));
}

TEST_CASE("read_app_id finds the note through program headers only", "[identity]") {
  Bytes patched = run_pipeline(read_file(kFixture), patch_request("no-sections")).value();
  Ehdr eh = get<Ehdr>(patched, 0);
  eh.e_shoff = 0;
  eh.e_shnum = 0;
  eh.e_shstrndx = 0;
  put(patched, 0, eh);
  MemFd fd(patched);
  std::string app, error;
  CHECK(read_app_id(fd.fd, &app, &error));
  CHECK(app == "no-sections");
}

TEST_CASE("read_app_id reports a truncated file as an error", "[identity]") {
  Bytes input = read_file(kFixture);
  input.resize(100);
  MemFd fd(input);
  std::string app, error;
  CHECK_FALSE(read_app_id(fd.fd, &app, &error));
  CHECK_FALSE(error.empty());
}

TEST_CASE("identity note layout", "[identity]") {
  Bytes note = encode_identity_note("abc");
  REQUIRE(note.size() == 12 + 12 + 4);
  Nhdr h = get<Nhdr>(note, 0);
  CHECK(h.n_namesz == 9);
  CHECK(h.n_descsz == 4);
  CHECK(h.n_type == NT_NETLEASH_APP);
  CHECK(std::memcmp(note.data() + 12, "netleash\0\0\0\0", 12) == 0);
  CHECK(std::memcmp(note.data() + 24, "abc\0", 4) == 0);
}

TEST_CASE("app id syntax", "[cli]") {
  CHECK(valid_app_id("a"));
  CHECK(valid_app_id("Web.front-end_x@2+b"));
  CHECK(valid_app_id(std::string(128, 'a')));
  CHECK_FALSE(valid_app_id(""));
  CHECK_FALSE(valid_app_id(std::string(129, 'a')));
  CHECK_FALSE(valid_app_id(".hidden"));
  CHECK_FALSE(valid_app_id("-x"));
  CHECK_FALSE(valid_app_id("has space"));
  CHECK_FALSE(valid_app_id("slash/no"));
}

namespace {

bool parses(std::vector<std::string> args, Options* out = nullptr) {
  std::vector<char*> argv{const_cast<char*>("netleash-patch")};
  for (std::string& a : args) argv.push_back(a.data());
  Options options;
  std::string error;
  bool ok = parse_options(static_cast<int>(argv.size()), argv.data(), &options, &error);
  if (out) *out = options;
  return ok;
}

}  // namespace

TEST_CASE("command line: the four forms and usage errors", "[cli]") {
  Options o;
  CHECK(parses({"--app", "x", "-o", "out", "in"}, &o));
  CHECK(o.shim == "libnetleash.so.1");
  CHECK(parses({"--app=x", "--shim", "/abs/lib.so", "--in-place", "a", "b"}, &o));
  CHECK(o.shim == "/abs/lib.so");
  CHECK(o.files.size() == 2);
  CHECK(parses({"--remove", "-o", "out", "in"}));
  CHECK(parses({"--remove", "--in-place", "a", "b"}));
  CHECK(parses({"--inspect", "--json", "a", "b"}, &o));
  CHECK(o.json);
  CHECK_FALSE(parses({}));
  CHECK_FALSE(parses({"--app", "x", "in"}));                     // neither -o nor --in-place
  CHECK_FALSE(parses({"--app", "x", "-o", "out", "a", "b"}));    // -o takes one file
  CHECK_FALSE(parses({"--app", "x", "-o", "o", "--in-place", "a"}));
  CHECK_FALSE(parses({"--app", "bad id", "-o", "o", "a"}));
  CHECK_FALSE(parses({"--app", "x", "--remove", "-o", "o", "a"}));
  CHECK_FALSE(parses({"--inspect", "-o", "o", "a"}));
  CHECK_FALSE(parses({"--bogus"}));
  CHECK_FALSE(parses({"--app"}));
}
