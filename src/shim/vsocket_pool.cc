#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <stddef.h>

#include "shim/vsocket.h"

namespace netleash::shim {
namespace {

constexpr uint32_t kObjectsPerPage = 256;
constexpr uint32_t kPoolPages = 16384;  // 4M sockets; far above any RLIMIT_NOFILE in use

VSocket* g_pool_pages[kPoolPages];
uint32_t g_pool_next;  // objects handed out so far (never-used ones are above this)
// Treiber stack of freed objects: index+1 in the low 32 bits (0 = empty) and a
// generation in the high 32 bits so a pop racing with pop+push cannot ABA.
uint64_t g_free_head;

VSocket* object_at(uint32_t index) {
  VSocket* page = __atomic_load_n(&g_pool_pages[index / kObjectsPerPage], __ATOMIC_ACQUIRE);
  return page == nullptr ? nullptr : &page[index % kObjectsPerPage];
}

uint32_t index_of(VSocket* vs) {
  for (uint32_t p = 0; p < kPoolPages; ++p) {
    VSocket* page = __atomic_load_n(&g_pool_pages[p], __ATOMIC_ACQUIRE);
    if (page == nullptr) break;
    if (vs >= page && vs < page + kObjectsPerPage) return p * kObjectsPerPage + static_cast<uint32_t>(vs - page);
  }
  return UINT32_MAX;
}

VSocket* pop_free() {
  uint64_t head = __atomic_load_n(&g_free_head, __ATOMIC_ACQUIRE);
  for (;;) {
    uint32_t slot = static_cast<uint32_t>(head);
    if (slot == 0) return nullptr;
    VSocket* vs = object_at(slot - 1);
    uint32_t next = __atomic_load_n(&vs->next_free, __ATOMIC_RELAXED);
    uint64_t replacement = ((head >> 32) + 1) << 32 | next;
    if (__atomic_compare_exchange_n(&g_free_head, &head, replacement, true, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
      return vs;
  }
}

void push_free(VSocket* vs) {
  uint32_t index = index_of(vs);
  if (index == UINT32_MAX) return;  // not ours: cannot happen, but never corrupt the stack
  uint64_t head = __atomic_load_n(&g_free_head, __ATOMIC_ACQUIRE);
  for (;;) {
    __atomic_store_n(&vs->next_free, static_cast<uint32_t>(head), __ATOMIC_RELAXED);
    uint64_t replacement = ((head >> 32) + 1) << 32 | (index + 1);
    if (__atomic_compare_exchange_n(&g_free_head, &head, replacement, true, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
      return;
  }
}

VSocket* take_fresh() {
  uint32_t index = __atomic_fetch_add(&g_pool_next, 1, __ATOMIC_RELAXED);
  uint32_t page_no = index / kObjectsPerPage;
  if (page_no >= kPoolPages) return nullptr;
  VSocket* page = __atomic_load_n(&g_pool_pages[page_no], __ATOMIC_ACQUIRE);
  while (page == nullptr) {
    void* mem = mmap(nullptr, sizeof(VSocket) * kObjectsPerPage, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) return nullptr;
    VSocket* expected = nullptr;
    if (__atomic_compare_exchange_n(&g_pool_pages[page_no], &expected, static_cast<VSocket*>(mem), false,
                                    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
      page = static_cast<VSocket*>(mem);
    } else {
      munmap(mem, sizeof(VSocket) * kObjectsPerPage);
      page = expected;
    }
  }
  return &page[index % kObjectsPerPage];
}

}  // namespace

VSocket* vsocket_new(int domain, int type, int protocol) {
  VSocket* vs = pop_free();
  if (vs == nullptr) vs = take_fresh();
  if (vs == nullptr) return nullptr;
  // Zero everything except the state word, which a stale reader may still be
  // looking at; it is published last.
  memset(reinterpret_cast<char*>(vs) + offsetof(VSocket, domain), 0, sizeof(VSocket) - offsetof(VSocket, domain));
  vs->domain = domain;
  vs->type = type;
  vs->protocol = protocol;
  vs->local.family = static_cast<uint16_t>(domain);
  __atomic_store_n(&vs->refs, 1, __ATOMIC_RELAXED);
  store_state(vs, type == SOCK_STREAM ? State::kTcpFresh : State::kUdp);
  return vs;
}

void vsocket_ref(VSocket* vs) { __atomic_fetch_add(&vs->refs, 1, __ATOMIC_RELAXED); }

void vsocket_unref(VSocket* vs) {
  if (__atomic_sub_fetch(&vs->refs, 1, __ATOMIC_ACQ_REL) == 0) push_free(vs);
}

}  // namespace netleash::shim
