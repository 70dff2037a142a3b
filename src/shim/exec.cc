// The leash follows exec: every program a patched program starts gets the
// shim too, through LD_PRELOAD, so its Internet sockets are virtual sockets
// that the daemon decides and audits (with the child's own executable).
//
// This is for function, not for security: the seal (seal_guard.cc) is
// inherited by every descendant whatever it does, so a child that drops
// LD_PRELOAD, is static, or is started by a raw execve system call still
// gets EACCES from the kernel instead of the network.
//
// At load time the shim puts its own path first in LD_PRELOAD (once), so
// children started with `environ` (system, popen, execv, execvp, the
// posix_spawn that libc uses inside) inherit it. The calls that take an
// environment of their own (execve, execvpe, fexecve, posix_spawn,
// posix_spawnp) get it added when it is missing. Both paths use only the
// stack: execve may run in a vfork child, where malloc is off limits.
#include <dlfcn.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim/internal.h"
#include "shim/real.h"

using namespace netleash::shim;

namespace {

constexpr char kPreload[] = "LD_PRELOAD=";
constexpr size_t kPreloadLen = sizeof kPreload - 1;
// Bounds of the stack copies (about 12 KiB): a longer LD_PRELOAD, or an environment of
// more variables, is passed on unchanged (the seal still holds the child).
constexpr size_t kMaxEntry = 4096;
constexpr size_t kMaxEnv = 1024;

// The shim's own absolute path, written once by the constructor.
char g_shim_path[4096];
size_t g_shim_len = 0;

// Is `path` one of the entries of an LD_PRELOAD value (':' or ' ' separated)?
bool preloads(const char* value, const char* path, size_t len) {
  for (const char* at = value; *at != '\0';) {
    size_t n = strcspn(at, ": ");
    if (n == len && memcmp(at, path, len) == 0) return true;
    at += n;
    if (*at != '\0') ++at;
  }
  return false;
}

// Writes "LD_PRELOAD=<shim>[:<old>]" into `out`; false when it does not fit.
bool compose(const char* old, char* out, size_t size) {
  size_t old_len = old ? strlen(old) : 0;
  size_t need = kPreloadLen + g_shim_len + (old_len ? 1 + old_len : 0) + 1;
  if (need > size) return false;
  char* at = static_cast<char*>(mempcpy(out, kPreload, kPreloadLen));
  at = static_cast<char*>(mempcpy(at, g_shim_path, g_shim_len));
  if (old_len) {
    *at++ = ':';
    at = static_cast<char*>(mempcpy(at, old, old_len));
  }
  *at = '\0';
  return true;
}

__attribute__((constructor)) void export_preload() {
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(&export_preload), &info) == 0 || info.dli_fname == nullptr ||
      info.dli_fname[0] != '/' || strlen(info.dli_fname) >= sizeof g_shim_path) {
    return;
  }
  g_shim_len = strlen(info.dli_fname);
  memcpy(g_shim_path, info.dli_fname, g_shim_len + 1);
  // Resolved now, not in a vfork child where dlsym's malloc would be unsafe.
  (void)NL_REAL(execve);
  (void)NL_REAL(execvpe);
  (void)NL_REAL(fexecve);
  const char* old = getenv("LD_PRELOAD");
  if (old != nullptr && preloads(old, g_shim_path, g_shim_len)) return;
  char entry[kMaxEntry];
  if (compose(old, entry, sizeof entry)) setenv("LD_PRELOAD", entry + kPreloadLen, 1);
}

// Calls `run` with `envp`, or with a copy on the stack that preloads the shim.
template <typename Run>
int with_preload(char* const envp[], Run run) {
  if (g_shim_len == 0 || envp == nullptr) return run(envp);
  size_t count = 0, preload = kMaxEnv;
  for (; envp[count] != nullptr && count < kMaxEnv; ++count) {
    if (strncmp(envp[count], kPreload, kPreloadLen) == 0) preload = count;
  }
  if (count >= kMaxEnv) return run(envp);
  if (preload != kMaxEnv && preloads(envp[preload] + kPreloadLen, g_shim_path, g_shim_len)) return run(envp);
  char entry[kMaxEntry];
  if (!compose(preload != kMaxEnv ? envp[preload] + kPreloadLen : nullptr, entry, sizeof entry)) return run(envp);
  char* env[kMaxEnv + 2];
  size_t n = 0;
  env[n++] = entry;
  for (size_t i = 0; i < count; ++i) {
    if (i != preload) env[n++] = envp[i];
  }
  env[n] = nullptr;
  return run(env);
}

}  // namespace

NL_EXPORT int execve(const char* path, char* const argv[], char* const envp[]) {
  return with_preload(envp, [&](char* const* env) { return NL_REAL(execve)(path, argv, env); });
}

NL_EXPORT int execvpe(const char* file, char* const argv[], char* const envp[]) {
  return with_preload(envp, [&](char* const* env) { return NL_REAL(execvpe)(file, argv, env); });
}

NL_EXPORT int fexecve(int fd, char* const argv[], char* const envp[]) {
  return with_preload(envp, [&](char* const* env) { return NL_REAL(fexecve)(fd, argv, env); });
}

NL_EXPORT int posix_spawn(pid_t* pid, const char* path, const posix_spawn_file_actions_t* actions,
                          const posix_spawnattr_t* attr, char* const argv[], char* const envp[]) {
  return with_preload(envp, [&](char* const* env) { return NL_REAL(posix_spawn)(pid, path, actions, attr, argv, env); });
}

NL_EXPORT int posix_spawnp(pid_t* pid, const char* file, const posix_spawn_file_actions_t* actions,
                           const posix_spawnattr_t* attr, char* const argv[], char* const envp[]) {
  return with_preload(envp, [&](char* const* env) { return NL_REAL(posix_spawnp)(pid, file, actions, attr, argv, env); });
}
