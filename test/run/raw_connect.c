// Connects to 127.0.0.1:PORT with the connect system call issued directly
// (inline `syscall` instruction), the way static or Go binaries do: no libc
// function, so no shim can see it. Prints "connected" or the errno name and
// exits 0 when connected, 1 otherwise.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE  // strerrorname_np
#endif
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>

static long raw_syscall3(long number, long a, long b, long c) {
#if defined(__x86_64__)
  long ret;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(number), "D"(a), "S"(b), "d"(c)
                   : "rcx", "r11", "memory");
  return ret;
#else
#error "raw_connect: only x86-64 is supported"
#endif
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s PORT\n", argv[0]);
    return 2;
  }
  long fd = raw_syscall3(SYS_socket, AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    printf("socket: %s\n", strerrorname_np((int)-fd));
    return 1;
  }
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[1])),
                           .sin_addr = {htonl(INADDR_LOOPBACK)}};
  long ret = raw_syscall3(SYS_connect, fd, (long)&to, sizeof to);
  if (ret < 0) {
    printf("%s\n", strerrorname_np((int)-ret));
    return 1;
  }
  printf("connected\n");
  return 0;
}
