#include <sys/mman.h>

#include "shim/vsocket.h"

namespace netleash::shim {

VSocket** g_fd_pages[kTablePages];

namespace {

constexpr int kEntriesPerPage = 1 << kTablePageBits;

VSocket** entry_slot(int fd, bool create) {
  if (static_cast<unsigned>(fd) >= static_cast<unsigned>(kTableMaxFd)) return nullptr;
  VSocket*** top = &g_fd_pages[fd >> kTablePageBits];
  VSocket** page = __atomic_load_n(top, __ATOMIC_ACQUIRE);
  if (page == nullptr) {
    if (!create) return nullptr;
    void* mem = mmap(nullptr, sizeof(VSocket*) * kEntriesPerPage, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) return nullptr;
    VSocket** expected = nullptr;
    if (__atomic_compare_exchange_n(top, &expected, static_cast<VSocket**>(mem), false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE)) {
      page = static_cast<VSocket**>(mem);
    } else {
      munmap(mem, sizeof(VSocket*) * kEntriesPerPage);  // another thread published first
      page = expected;
    }
  }
  return &page[fd & (kEntriesPerPage - 1)];
}

}  // namespace

bool fd_install(int fd, VSocket* vs) {
  VSocket** slot = entry_slot(fd, true);
  if (slot == nullptr) return false;
  VSocket* old = __atomic_exchange_n(slot, vs, __ATOMIC_ACQ_REL);
  if (old != nullptr) vsocket_unref(old);
  return true;
}

void fd_forget(int fd) {
  VSocket** slot = entry_slot(fd, false);
  if (slot == nullptr) return;
  VSocket* old = __atomic_exchange_n(slot, nullptr, __ATOMIC_ACQ_REL);
  if (old != nullptr) vsocket_unref(old);
}

void fd_forget_range(unsigned first, unsigned last) {
  if (last >= static_cast<unsigned>(kTableMaxFd)) last = kTableMaxFd - 1;
  for (unsigned fd = first; fd <= last;) {
    // Skip whole pages that were never created: close_range(3, ~0U) is common.
    if (__atomic_load_n(&g_fd_pages[fd >> kTablePageBits], __ATOMIC_ACQUIRE) == nullptr) {
      fd = ((fd >> kTablePageBits) + 1) << kTablePageBits;
      continue;
    }
    fd_forget(static_cast<int>(fd));
    ++fd;
  }
}

void fd_copy(int from, int to) {
  VSocket* vs = fd_lookup(from);
  if (vs == nullptr) {
    fd_forget(to);
    return;
  }
  vsocket_ref(vs);
  if (!fd_install(to, vs)) vsocket_unref(vs);
}

}  // namespace netleash::shim
