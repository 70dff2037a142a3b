/* The getaddrinfo contract and the gethostbyname family through the daemon.
 * The runner's hosts file has echo4.nltest (127.0.0.1), echo6.nltest (::1),
 * both.nltest (both) and blocked.nltest (no rule allows it). */
#include <netdb.h>

#include "nltest.h"

static int count(struct addrinfo* ai, int family, int socktype) {
  int n = 0;
  for (; ai != NULL; ai = ai->ai_next)
    if ((family == 0 || ai->ai_family == family) && (socktype == 0 || ai->ai_socktype == socktype)) ++n;
  return n;
}

static int port(struct addrinfo* ai) { return port_of((struct sockaddr_storage*)ai->ai_addr); }

int main(void) {
  struct addrinfo hints, *res;
  int tcp4 = env_int("NLT_TCP4_PORT");
  char service[16];
  snprintf(service, sizeof service, "%d", tcp4);

  /* A name the policy allows, then connect to what it gave. */
  memset(&hints, 0, sizeof hints);
  hints.ai_socktype = SOCK_STREAM;
  CHECK(getaddrinfo("echo4.nltest", service, &hints, &res) == 0);
  CHECK(res->ai_family == AF_INET && res->ai_socktype == SOCK_STREAM && res->ai_protocol == IPPROTO_TCP);
  CHECK(port(res) == tcp4 && res->ai_addrlen == sizeof(struct sockaddr_in));
  int fd = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
  CHECK(fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) == 0);
  echo_roundtrip(fd, "resolved");
  close(fd);
  freeaddrinfo(res);

  /* Families and socket types. */
  CHECK(getaddrinfo("both.nltest", NULL, NULL, &res) == 0); /* NULL hints */
  CHECK(count(res, AF_INET, 0) >= 1 && count(res, AF_INET6, 0) >= 1);
  CHECK(count(res, 0, SOCK_STREAM) >= 2 && count(res, 0, SOCK_DGRAM) >= 2);
  freeaddrinfo(res);
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_INET6;
  CHECK(getaddrinfo("both.nltest", "80", &hints, &res) == 0);
  CHECK(count(res, AF_INET6, 0) == count(res, 0, 0) && port(res) == 80);
  freeaddrinfo(res);
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  CHECK(getaddrinfo("both.nltest", "53", &hints, &res) == 0);
  CHECK(count(res, AF_INET, SOCK_DGRAM) == count(res, 0, 0) && res->ai_protocol == IPPROTO_UDP);
  freeaddrinfo(res);
  CHECK(getaddrinfo("echo6.nltest", NULL, &hints, &res) != 0); /* no IPv4 address */

  /* Service names, AI_NUMERICSERV, AI_CANONNAME. */
  memset(&hints, 0, sizeof hints);
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_CANONNAME;
  CHECK(getaddrinfo("echo4.nltest", "http", &hints, &res) == 0);
  CHECK(port(res) == 80 && res->ai_canonname != NULL && strlen(res->ai_canonname) > 0);
  freeaddrinfo(res);
  hints.ai_flags = AI_NUMERICSERV;
  CHECK(getaddrinfo("echo4.nltest", "http", &hints, &res) == EAI_NONAME);
  hints.ai_flags = 0;
  CHECK(getaddrinfo("echo4.nltest", "no-such-service-nl", &hints, &res) == EAI_SERVICE);

  /* Numeric hosts never leave the process; AI_NUMERICHOST refuses names. */
  memset(&hints, 0, sizeof hints);
  hints.ai_flags = AI_NUMERICHOST;
  CHECK(getaddrinfo("192.0.2.7", "25", &hints, &res) == 0);
  CHECK(res->ai_family == AF_INET && port(res) == 25);
  freeaddrinfo(res);
  CHECK(getaddrinfo("2001:db8::1", NULL, &hints, &res) == 0 && res->ai_family == AF_INET6);
  freeaddrinfo(res);
  CHECK(getaddrinfo("echo4.nltest", NULL, &hints, &res) == EAI_NONAME);

  /* AI_PASSIVE with no host: wildcard; without: loopback. */
  memset(&hints, 0, sizeof hints);
  hints.ai_flags = AI_PASSIVE;
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  CHECK(getaddrinfo(NULL, "8080", &hints, &res) == 0);
  CHECK(((struct sockaddr_in*)res->ai_addr)->sin_addr.s_addr == htonl(INADDR_ANY) && port(res) == 8080);
  freeaddrinfo(res);
  hints.ai_flags = 0;
  CHECK(getaddrinfo(NULL, "8080", &hints, &res) == 0);
  CHECK(((struct sockaddr_in*)res->ai_addr)->sin_addr.s_addr == htonl(INADDR_LOOPBACK));
  freeaddrinfo(res);
  CHECK(getaddrinfo(NULL, NULL, &hints, &res) == EAI_NONAME);
  hints.ai_family = 12345;
  CHECK(getaddrinfo("echo4.nltest", NULL, &hints, &res) == EAI_FAMILY);

  /* A name no rule allows. */
  CHECK(getaddrinfo("blocked.nltest", "80", NULL, &res) == EAI_NONAME);

  /* gethostbyname family. */
  struct hostent* h = gethostbyname("echo4.nltest");
  CHECK(h != NULL && h->h_addrtype == AF_INET && h->h_length == 4);
  CHECK(memcmp(h->h_addr_list[0], "\x7f\x00\x00\x01", 4) == 0 && h->h_addr_list[1] == NULL);
  h = gethostbyname2("echo6.nltest", AF_INET6);
  CHECK(h != NULL && h->h_addrtype == AF_INET6 && h->h_length == 16);
  CHECK(memcmp(h->h_addr_list[0], &in6addr_loopback, 16) == 0);
  h = gethostbyname("blocked.nltest");
  CHECK(h == NULL && h_errno == HOST_NOT_FOUND);
  h = gethostbyname("10.1.2.3");
  CHECK(h != NULL && memcmp(h->h_addr_list[0], "\x0a\x01\x02\x03", 4) == 0);
  struct hostent he, *result;
  char buf[1024];
  int herr;
  CHECK(gethostbyname_r("both.nltest", &he, buf, sizeof buf, &result, &herr) == 0 && result == &he);
  CHECK(he.h_addrtype == AF_INET);
  CHECK(gethostbyname2_r("both.nltest", AF_INET6, &he, buf, sizeof buf, &result, &herr) == 0 && result == &he);
  CHECK(he.h_addrtype == AF_INET6);
  CHECK(gethostbyname_r("both.nltest", &he, buf, 8, &result, &herr) == ERANGE && result == NULL);
  CHECK(gethostbyname_r("blocked.nltest", &he, buf, sizeof buf, &result, &herr) != 0 && result == NULL);
  CHECK(herr == HOST_NOT_FOUND);

  /* Reverse lookups are numeric only. */
  struct sockaddr_storage ss;
  socklen_t len = loopback(AF_INET, 80, &ss);
  char host[64], serv[32];
  CHECK(getnameinfo((struct sockaddr*)&ss, len, host, sizeof host, serv, sizeof serv, NI_NUMERICSERV) == 0);
  CHECK(strcmp(host, "127.0.0.1") == 0 && strcmp(serv, "80") == 0);
  CHECK(getnameinfo((struct sockaddr*)&ss, len, host, sizeof host, NULL, 0, NI_NAMEREQD) == EAI_NONAME);
  struct in_addr a4 = {htonl(INADDR_LOOPBACK)};
  h = gethostbyaddr(&a4, 4, AF_INET);
  CHECK(h != NULL && strcmp(h->h_name, "127.0.0.1") == 0);
  return 0;
}
