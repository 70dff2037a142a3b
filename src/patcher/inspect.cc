#include "patcher/inspect.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "patcher/classify.h"
#include "patcher/base.h"
#include "common/elf/elf_file.h"
#include "patcher/preinit_hook.h"
#include "patcher/script.h"

namespace netleash::elf {

namespace {

void inspect_seal(const ElfFile& file, const Classification& c, Report& r) {
  if (!c.record && (c.linkage != Linkage::Dynamic || c.hard_reason)) return;
  if (has_hook(file, c)) {
    r.seal = "preinit";
    return;
  }
  r.seal = "constructor";
  try {
    r.seal_reason = check_hook(file, make_base(file, c)).refusal;
  } catch (const ElfError& e) {
    r.seal_reason = e.what();
  }
  if (!r.seal_reason) {
    if (c.record) {
      r.seal_reason = "patched without the preinit hook (an older netleash-patch): patch it again";
    } else {
      r.seal = "preinit";
    }
  }
}

}  // namespace

Report inspect_file(const std::string& path) {
  Report r;
  r.file = path;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    r.reason = std::string("cannot open: ") + std::strerror(errno);
    return r;
  }
  try {
    r.reason = script_refusal(fd);
    if (r.reason) {
      close(fd);
      return r;
    }
    FileView view(fd);
    ElfFile file = read_elf(view);
    Classification c = classify(file, file_facts(fd));
    r.elf = true;
    r.patched = c.record.has_value();
    if (c.record) r.app = c.record->app;
    r.shim = c.shim;
    r.linkage = linkage_name(c.linkage);
    r.go = c.go;
    r.setuid = c.setuid;
    r.interposable = c.interposable;
    r.reason = c.reason;
    inspect_seal(file, c, r);
  } catch (const ElfError& e) {
    r.reason = e.what();
  }
  close(fd);
  return r;
}

std::string format_report(const Report& r, bool json) {
  if (json) {
    auto optional = [](const std::optional<std::string>& v) {
      return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
    };
    nlohmann::json j = {
        {"file", r.file},         {"patched", r.patched},   {"app", optional(r.app)},
        {"shim", optional(r.shim)}, {"linkage", optional(r.linkage)}, {"go", r.go},
        {"setuid", r.setuid},     {"interposable", r.interposable},
        {"reason", optional(r.reason)}, {"seal", optional(r.seal)},
        {"seal_reason", optional(r.seal_reason)},
    };
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  std::string out = r.file + ": ";
  if (!r.elf) return out + "not patchable: " + r.reason.value_or("unknown");
  out += r.patched ? "patched, app " + r.app.value_or("") + ", shim " + r.shim.value_or("")
                   : "not patched";
  out += "; linkage " + r.linkage.value_or("?");
  if (r.go) out += ", Go";
  if (r.setuid) out += ", setuid/setgid/capabilities";
  out += r.interposable ? ", interposable" : ", not interposable";
  if (r.reason) out += " (" + *r.reason + ")";
  if (r.seal) out += "; seal " + *r.seal + (r.seal_reason ? " (" + *r.seal_reason + ")" : "");
  return out;
}

}  // namespace netleash::elf
