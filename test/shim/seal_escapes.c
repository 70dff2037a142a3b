/* The seal, tried as a hostile program would: every way around the shim gets
 * EACCES (io_uring ENOSYS), never the network — libc's socket through
 * dlsym(RTLD_NEXT) and through a dlopen handle, glibc's __socket, syscall()
 * from a dlopen handle, the syscall instruction, the i386 ABI by int 0x80,
 * io_uring, packet and raw sockets, res_query (libc's resolver makes its own
 * socket), ptrace and pidfd_getfd of the runner outside the sealed tree, and
 * a static child. The runner checks that the denied servers saw nothing.
 * The program's own traffic through the shim still works. */
#include <dlfcn.h>
#include <netinet/in.h>
#include <arpa/nameser.h>
#include <resolv.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "nltest.h"

/* dlsym returns an object pointer; POSIX guarantees it converts to a function pointer. */
#pragma GCC diagnostic ignored "-Wpedantic"

typedef int (*socket_fn)(int, int, int);
typedef long (*syscall_fn)(long, ...);

static long raw_socket(long domain, long type) {
  long ret;
  __asm__ volatile("syscall" : "=a"(ret) : "a"((long)SYS_socket), "D"(domain), "S"(type), "d"(0L)
                   : "rcx", "r11", "memory");
  return ret;
}

/* int 0x80 from a 64-bit process: the i386 system call table. */
static long i386_call(long nr, long a, long b, long c) {
  long ret;
  __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
  return ret;
}

/* dlsym(RTLD_NEXT) from the program finds the shim (the first library after
 * it): the socket it makes is a virtual one, still on the leash. */
static void check_leashed_or_refused(int fd, int family) {
  if (fd == -1) {
    CHECK(errno == EACCES);
    return;
  }
  struct sockaddr_storage ss;
  socklen_t len = loopback(family, env_int("NLT_DENIED_PORT"), &ss);
  CHECK_ERRNO(connect(fd, (struct sockaddr*)&ss, len), EACCES);
  close(fd);
}

static void check_static_child(void) {
  const char* child = getenv("NLT_STATIC_CHILD");
  CHECK(child != NULL);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    execl(child, child, (char*)NULL);
    _exit(127);
  }
  int status;
  CHECK(waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void) {
  int domains[] = {AF_INET, AF_INET6};
  void* libc = dlopen("libc.so.6", RTLD_NOW);
  CHECK(libc != NULL);
  for (int i = 0; i < 2; ++i) {
    int d = domains[i];
    socket_fn next = (socket_fn)dlsym(RTLD_NEXT, "socket");
    CHECK(next != NULL);
    check_leashed_or_refused(next(d, SOCK_STREAM, 0), d);
    socket_fn from_handle = (socket_fn)dlsym(libc, "socket");
    CHECK_ERRNO(from_handle(d, SOCK_STREAM, 0), EACCES);
    socket_fn internal = (socket_fn)dlsym(libc, "__socket");
    if (internal != NULL) CHECK_ERRNO(internal(d, SOCK_STREAM, 0), EACCES);
    syscall_fn sys = (syscall_fn)dlsym(libc, "syscall");
    CHECK_ERRNO(sys(SYS_socket, d, SOCK_STREAM, 0), EACCES);
    CHECK(raw_socket(d, SOCK_STREAM) == -EACCES);
    CHECK(raw_socket(d, SOCK_RAW) == -EACCES);
  }
  CHECK(raw_socket(AF_PACKET, SOCK_RAW) == -EACCES);
  CHECK(raw_socket(AF_VSOCK, SOCK_STREAM) == -EACCES);
  CHECK(raw_socket(AF_UNIX, SOCK_STREAM) >= 0); /* local sockets are untouched */

  /* i386: socket is 359, socketcall 102 with SYS_SOCKET (1). */
  long args[3] = {AF_INET, SOCK_STREAM, 0};
  CHECK(i386_call(359, AF_INET, SOCK_STREAM, 0) == -EACCES);
  CHECK(i386_call(102, 1, (long)args, 0) == -EACCES);

  /* io_uring: as on a kernel without it (IORING_OP_SOCKET/CONNECT would get around the rule). */
  unsigned char params[120] = {0};
  CHECK_ERRNO(syscall(SYS_io_uring_setup, 8, params), ENOSYS);

  /* libc's resolver, pointed at the denied UDP server, cannot even make its socket. */
  CHECK(res_init() == 0);
  _res.nscount = 1;
  _res.nsaddr_list[0].sin_family = AF_INET;
  _res.nsaddr_list[0].sin_port = htons((unsigned short)env_int("NLT_DENIED_UDP_PORT"));
  _res.nsaddr_list[0].sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  _res.retrans = 1;
  _res.retry = 1;
  unsigned char answer[512];
  CHECK(res_query("forbidden.example", ns_c_in, ns_t_a, answer, sizeof answer) == -1);

  /* Borrowing from a process outside the sealed tree (the runner). */
  pid_t outside = getppid();
  errno = 0;
  CHECK(ptrace(PTRACE_ATTACH, outside, NULL, NULL) == -1 && (errno == EPERM || errno == EACCES));
  int pidfd = (int)syscall(SYS_pidfd_open, outside, 0);
  CHECK(pidfd >= 0);
  errno = 0;
  CHECK(syscall(SYS_pidfd_getfd, pidfd, 0, 0) == -1 && (errno == EPERM || errno == EACCES));
  close(pidfd);

  check_static_child();

  /* And the program's own traffic through the shim is untouched. */
  int fd = tcp_connect_loopback(AF_INET, env_int("NLT_TCP4_PORT"));
  CHECK(write(fd, "sealed", 6) == 6);
  char buf[6];
  read_exactly(fd, buf, 6);
  CHECK(memcmp(buf, "sealed", 6) == 0);
  close(fd);
  fd = tcp_connect_loopback(AF_INET, env_int("NLT_TCP4_PORT"));
  close(fd);
  struct sockaddr_storage ss;
  socklen_t len = loopback(AF_INET, env_int("NLT_DENIED_PORT"), &ss);
  fd = socket(AF_INET, SOCK_STREAM, 0);
  CHECK(fd >= 0);
  CHECK_ERRNO(connect(fd, (struct sockaddr*)&ss, len), EACCES);
  close(fd);
  return 0;
}
