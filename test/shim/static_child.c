/* A statically linked child of a sealed program: no shim can reach it, the
 * inherited seal does. Exits 0 when every Internet socket is refused. */
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void) {
  int families[] = {AF_INET, AF_INET6, AF_PACKET};
  for (int i = 0; i < 3; ++i) {
    errno = 0;
    if (socket(families[i], SOCK_STREAM, 0) != -1 || errno != EACCES) return 1;
  }
  return 0;
}
