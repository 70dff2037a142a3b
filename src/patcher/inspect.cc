#include "inspect.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "classify.h"
#include "elf_file.h"

namespace netleash::elf {

Report inspect_file(const std::string& path) {
  Report r;
  r.file = path;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    r.reason = std::string("cannot open: ") + std::strerror(errno);
    return r;
  }
  try {
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
        {"reason", optional(r.reason)},
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
  return out;
}

}  // namespace netleash::elf
