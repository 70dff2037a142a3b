#include "patcher/cli.h"

#include <cctype>
#include <cstring>

namespace netleash::elf {

const char kUsage[] =
    "Usage:\n"
    "  netleash-patch --app ID [--shim LIB] -o OUT FILE        write a patched copy\n"
    "  netleash-patch --app ID [--shim LIB] --in-place FILE... patch files in place\n"
    "  netleash-patch --remove (-o OUT FILE | --in-place FILE...)\n"
    "  netleash-patch --inspect [--json] FILE...\n"
    "\n"
    "Adds a DT_NEEDED entry for the netleash shim (before every other DT_NEEDED) and an\n"
    "identity note (.note.netleash.app; `readelf -n` or `readelf -p .note.netleash.app`).\n"
    "\n"
    "Options:\n"
    "  --app ID          application id: 1-128 chars of [A-Za-z0-9._@+-], first alphanumeric\n"
    "  --shim LIB        shim library name or absolute path (default libnetleash.so.1)\n"
    "  -o OUT            output file (mode bits kept)\n"
    "  --in-place        replace each FILE atomically (temporary file + rename)\n"
    "  --remove          remove the shim entry and identity record\n"
    "  --inspect         report what netleash-patch sees; --json: one JSON object per file\n"
    "  --allow-setuid    patch setuid/setgid and file-capability executables too\n"
    "  --help, --version\n"
    "\n"
    "Exit status: 0 success, 1 I/O error, 2 usage error, 3 a file was refused.\n";

bool valid_app_id(const std::string& app) {
  if (app.empty() || app.size() > 128) return false;
  if (!std::isalnum(static_cast<unsigned char>(app[0]))) return false;
  for (char c : app) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || std::strchr("._@+-", c) != nullptr;
    if (!ok || c == '\0') return false;
  }
  return true;
}

namespace {

bool fail(std::string* error, const std::string& message) {
  *error = message;
  return false;
}

enum class Match { No, Yes, Missing };

// Matches "--name VALUE" and "--name=VALUE" at argv[*i], advancing *i past a separate value.
Match option_value(const std::string& name, int argc, char** argv, int* i, std::string* out) {
  std::string arg = argv[*i];
  if (arg.rfind(name + "=", 0) == 0) {
    *out = arg.substr(name.size() + 1);
    return Match::Yes;
  }
  if (arg != name) return Match::No;
  if (*i + 1 >= argc) return Match::Missing;
  *out = argv[++*i];
  return Match::Yes;
}

}  // namespace

bool parse_options(int argc, char** argv, Options* o, std::string* error) {
  bool remove = false, inspect = false, have_app = false, have_shim = false, have_output = false;
  bool only_files = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= argc) return false;
      *out = argv[++i];
      return true;
    };
    if (only_files || arg.empty() || arg[0] != '-' || arg == "-") {
      o->files.push_back(arg);
    } else if (arg == "--") {
      only_files = true;
    } else if (arg == "--help" || arg == "-h") {
      o->mode = Options::Mode::Help;
      return true;
    } else if (arg == "--version") {
      o->mode = Options::Mode::Version;
      return true;
    } else if (Match m = option_value("--app", argc, argv, &i, &o->app); m != Match::No) {
      if (m == Match::Missing) return fail(error, "--app needs an argument");
      have_app = true;
    } else if (Match m2 = option_value("--shim", argc, argv, &i, &o->shim); m2 != Match::No) {
      if (m2 == Match::Missing) return fail(error, "--shim needs an argument");
      have_shim = true;
    } else if (arg == "-o" || arg == "--output") {
      if (!value(&o->output)) return fail(error, "-o needs an argument");
      have_output = true;
    } else if (arg == "--in-place") {
      o->in_place = true;
    } else if (arg == "--remove") {
      remove = true;
    } else if (arg == "--inspect") {
      inspect = true;
    } else if (arg == "--json") {
      o->json = true;
    } else if (arg == "--allow-setuid") {
      o->allow_setuid = true;
    } else {
      return fail(error, "unknown option '" + arg + "'");
    }
  }
  if (int(remove) + int(inspect) + int(have_app) != 1) {
    return fail(error, "give exactly one of --app ID, --remove, --inspect");
  }
  o->mode = inspect ? Options::Mode::Inspect : remove ? Options::Mode::Remove : Options::Mode::Patch;
  if (have_app && !valid_app_id(o->app)) {
    return fail(error, "invalid app id '" + o->app +
                           "' (1-128 chars of [A-Za-z0-9._@+-], first alphanumeric)");
  }
  if (have_shim && (remove || inspect)) return fail(error, "--shim only applies to patching");
  if (o->shim.empty() || o->shim.size() > 4096) return fail(error, "invalid --shim name");
  if (o->json && !inspect) return fail(error, "--json only applies to --inspect");
  if (o->files.empty()) return fail(error, "no input file");
  if (inspect) {
    if (have_output || o->in_place) return fail(error, "--inspect takes neither -o nor --in-place");
    return true;
  }
  if (have_output == o->in_place) return fail(error, "give exactly one of -o OUT and --in-place");
  if (have_output && o->files.size() != 1) return fail(error, "-o OUT takes exactly one FILE");
  return true;
}

}  // namespace netleash::elf
