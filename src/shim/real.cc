#include "shim/real.h"

#include <dlfcn.h>

namespace netleash::shim {
namespace {

// Zero-initialised, so no constructor runs; each slot is published with a
// release store and read with acquire. Two threads racing on the first call
// both ask dlsym and store the same answer, which is harmless.
void* g_slots[kRealCount];

}  // namespace

void* real_symbol(RealId id, const char* name) {
  void* p = __atomic_load_n(&g_slots[id], __ATOMIC_ACQUIRE);
  if (__builtin_expect(p != nullptr, 1)) return p;
  // dlsym may call malloc (its error buffer); it never calls a socket
  // function, so this cannot re-enter the shim's hooks.
  p = dlsym(RTLD_NEXT, name);
  if (p != nullptr) __atomic_store_n(&g_slots[id], p, __ATOMIC_RELEASE);
  return p;
}

}  // namespace netleash::shim
