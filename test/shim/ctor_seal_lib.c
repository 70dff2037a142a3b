/* A library whose constructor tries to get around the shim the way a hostile
 * one would: an Internet socket made with the syscall instruction itself, so
 * no interposed function sees it. glibc runs this constructor before the
 * shim's (a DT_NEEDED library's constructor runs after those of libraries
 * loaded after it); only the preinit hook seals the process earlier. */
#include <errno.h>
#include <sys/socket.h>
#include <sys/syscall.h>

static long g_socket_result;

static long raw_socket(long domain, long type) {
  long ret;
  __asm__ volatile("syscall" : "=a"(ret) : "a"((long)SYS_socket), "D"(domain), "S"(type), "d"(0L)
                   : "rcx", "r11", "memory");
  return ret;
}

__attribute__((constructor)) static void try_socket(void) {
  g_socket_result = raw_socket(AF_INET, SOCK_STREAM);
}

/* What the constructor got: a descriptor, or the negative errno. */
long ctor_socket_result(void) { return g_socket_result; }
