// Issues getpid through a foreign system call ABI of an x86-64 process, the
// way code would try to get around a seccomp filter written for x86-64
// numbers: "i386" through int 0x80, "x32" with the x32 bit set in the number.
// Prints the result (a pid, or the negative errno) and exits 0.
#include <stdio.h>
#include <string.h>

int main(int argc, char** argv) {
#if defined(__x86_64__)
  long ret;
  if (argc == 2 && strcmp(argv[1], "i386") == 0) {
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L /* i386 getpid */) : "memory");
  } else if (argc == 2 && strcmp(argv[1], "x32") == 0) {
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(0x40000000L | 39L /* x32 getpid */)
                     : "rcx", "r11", "memory");
  } else {
    fprintf(stderr, "usage: %s i386|x32\n", argv[0]);
    return 2;
  }
  printf("%ld\n", ret);
  return 0;
#else
#error "foreign_abi: only x86-64 is supported"
#endif
}
