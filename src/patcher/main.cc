// netleash-patch: adds the netleash shim and an identity record to ELF executables.
//
// Each file goes through the passes read -> classify -> plan -> validate -> write; a
// failure in any pass leaves the input and the destination untouched.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <system_error>

#include "patcher/advice.h"
#include "patcher/classify.h"
#include "patcher/cli.h"
#include "common/elf/elf_file.h"
#include "patcher/inspect.h"
#include "patcher/output_file.h"
#include "patcher/plan.h"
#include "patcher/script.h"
#include "patcher/validate.h"
#include "patcher/writer.h"

namespace netleash::elf {
namespace {

enum class Outcome { Changed, Unchanged, Refused, Failed };

void report(const std::string& file, const std::string& message) {
  std::fprintf(stderr, "netleash-patch: %s: %s\n", file.c_str(), message.c_str());
}

// After a file is written: what the copy may break, or keeps (on standard error,
// without changing the outcome).
void advise(const Options& options, const std::string& input, const ElfFile& file,
            const FileFacts& facts) {
  if (!options.in_place) {
    if (std::optional<std::string> warning = relocation_warning(file, input, options.output)) {
      report(input, *warning);
    }
  }
  bool patched = options.mode == Options::Mode::Patch;
  if (patched && (facts.setid || facts.capabilities)) report(input, privilege_note(facts));
}

// Closes the descriptor on every path out of process_file.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

Outcome process_file(const Options& options, const std::string& input, std::string destination) {
  Fd in{open(input.c_str(), O_RDONLY | O_CLOEXEC)};
  if (in.fd < 0) {
    report(input, std::string("cannot open: ") + std::strerror(errno));
    return Outcome::Failed;
  }
  struct stat st;
  if (fstat(in.fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    report(input, "not a regular file");
    return Outcome::Refused;
  }
  if (options.in_place) {
    // Replace the file a symlink points to, not the link.
    char resolved[PATH_MAX];
    if (realpath(input.c_str(), resolved) == nullptr) {
      report(input, std::string("cannot resolve path: ") + std::strerror(errno));
      return Outcome::Failed;
    }
    destination = resolved;
  }
  try {
    // A script is not ELF, but its interpreter is: name it.
    if (std::optional<std::string> script = script_refusal(in.fd)) {
      report(input, *script);
      return Outcome::Refused;
    }
    // read
    FileView view(in.fd);
    ElfFile file = read_elf(view);
    // classify
    FileFacts facts = file_facts(in.fd);
    Classification cls = classify(file, facts);
    if (cls.hard_reason || (cls.reason && !options.allow_setuid)) {
      std::optional<std::string> advice = refusal_advice(cls, input);
      report(input, *cls.reason + (advice ? "; " + *advice : ""));
      return Outcome::Refused;
    }
    // plan
    Request request;
    request.op = options.mode == Options::Mode::Remove ? Request::Op::Remove : Request::Op::Patch;
    request.app = options.app;
    request.shim = options.shim;
    std::optional<Plan> plan = make_plan(file, cls, request);
    if (!plan && options.in_place) return Outcome::Unchanged;
    if (!plan) {
      // -o OUT of a file already in the requested state: an identical copy.
      Plan copy;
      copy.output_size = view.size();
      copy.pieces.push_back(Piece{0, {}, 0, view.size()});
      AtomicOutput out(destination);
      write_plan(in.fd, out.fd(), copy);
      out.commit(st, in.fd, cls.setuid);
      advise(options, input, file, facts);
      return Outcome::Unchanged;
    }
    // validate
    std::vector<std::string> problems = validate(file, *plan);
    if (!problems.empty()) {
      report(input, "cannot patch safely: " + problems.front());
      return Outcome::Refused;
    }
    // write
    AtomicOutput out(destination);
    write_plan(in.fd, out.fd(), *plan);
    // Read the record back as netleashd will: an output whose id it cannot find
    // would leave the program without its policy. (The temp file is discarded.)
    if (!output_carries_request(out.fd(), request)) {
      report(input, "cannot patch safely: the identity record does not read back from the output");
      return Outcome::Refused;
    }
    out.commit(st, in.fd, cls.setuid);
    advise(options, input, file, facts);
    return Outcome::Changed;
  } catch (const ElfError& e) {
    report(input, e.what());
    return Outcome::Refused;
  } catch (const std::system_error& e) {
    report(input, e.what());
    return Outcome::Failed;
  }
}

int run_inspect(const Options& options) {
  int status = 0;
  for (const std::string& file : options.files) {
    Report r = inspect_file(file);
    std::printf("%s\n", format_report(r, options.json).c_str());
    if (!r.elf) status = 3;
  }
  return status;
}

int run_edit(const Options& options) {
  size_t counts[4] = {};
  for (const std::string& file : options.files) {
    ++counts[static_cast<int>(process_file(options, file, options.output))];
  }
  if (options.in_place) {
    const char* verb = options.mode == Options::Mode::Remove ? "removed" : "patched";
    std::fprintf(stderr, "netleash-patch: %zu %s, %zu unchanged, %zu refused, %zu failed\n",
                 counts[0], verb, counts[1], counts[2], counts[3]);
  }
  if (counts[static_cast<int>(Outcome::Failed)] != 0) return 1;
  if (counts[static_cast<int>(Outcome::Refused)] != 0) return 3;
  return 0;
}

}  // namespace
}  // namespace netleash::elf

int main(int argc, char** argv) {
  using netleash::elf::Options;
  Options options;
  std::string error;
  if (!netleash::elf::parse_options(argc, argv, &options, &error)) {
    std::fprintf(stderr, "netleash-patch: %s\nTry 'netleash-patch --help'.\n", error.c_str());
    return 2;
  }
  switch (options.mode) {
    case Options::Mode::Help:
      std::fputs(netleash::elf::kUsage, stdout);
      return 0;
    case Options::Mode::Version:
      std::printf("netleash-patch %s\n", NETLEASH_VERSION);
      return 0;
    case Options::Mode::Inspect:
      return netleash::elf::run_inspect(options);
    default:
      return netleash::elf::run_edit(options);
  }
}
