/* Raw DNS, as resolvers inside programs do it: a query over UDP and over
 * TCP (length-prefixed) to the allowed DNS port, answered by the runner's
 * tiny responder with 192.0.2.53. Its port is not one of the daemon's DNS
 * ports ("dns_ports", default 53), so the queries are judged by the rules and
 * reach the responder, as with "dns": "direct"; DNS the daemon answers itself
 * is tested by dns_answered.py. */
#include <poll.h>

#include "nltest.h"

static size_t build_query(unsigned char* q, unsigned short id) {
  static const unsigned char header[] = {0, 0, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  static const unsigned char question[] = {3, 'w', 'w', 'w', 7, 'n', 'l', 't', 'e', 's', 't', 's', 0, 0, 1, 0, 1};
  memcpy(q, header, sizeof header);
  q[0] = (unsigned char)(id >> 8);
  q[1] = (unsigned char)id;
  memcpy(q + sizeof header, question, sizeof question);
  return sizeof header + sizeof question;
}

static void check_answer(const unsigned char* a, size_t n, unsigned short id) {
  CHECK(n >= 12 + 17 + 16);
  CHECK(a[0] == (id >> 8) && a[1] == (id & 0xff));
  CHECK((a[2] & 0x80) != 0); /* a response */
  CHECK(a[6] == 0 && a[7] == 1); /* one answer */
  CHECK(memcmp(a + n - 4, "\xc0\x00\x02\x35", 4) == 0); /* 192.0.2.53 */
}

int main(void) {
  int port = env_int("NLT_DNS_PORT");
  struct sockaddr_storage ss;
  socklen_t len = loopback(AF_INET, port, &ss);
  unsigned char q[64], a[512];

  int u = socket(AF_INET, SOCK_DGRAM, 0);
  CHECK(u >= 0);
  size_t qn = build_query(q, 0x1234);
  CHECK(sendto(u, q, qn, 0, (struct sockaddr*)&ss, len) == (ssize_t)qn);
  struct pollfd p = {u, POLLIN, 0};
  CHECK(poll(&p, 1, 10000) == 1);
  struct sockaddr_storage from;
  socklen_t flen = sizeof from;
  ssize_t n = recvfrom(u, a, sizeof a, 0, (struct sockaddr*)&from, &flen);
  CHECK(n > 0);
  CHECK(port_of(&from) == port);
  check_answer(a, (size_t)n, 0x1234);
  close(u);

  int t = tcp_connect_loopback(AF_INET, port);
  qn = build_query(q + 2, 0x4321);
  q[0] = 0;
  q[1] = (unsigned char)qn;
  CHECK(write(t, q, qn + 2) == (ssize_t)(qn + 2));
  unsigned char lenbuf[2];
  read_exactly(t, lenbuf, 2);
  size_t an = (size_t)(lenbuf[0] << 8 | lenbuf[1]);
  CHECK(an <= sizeof a);
  read_exactly(t, a, an);
  check_answer(a, an, 0x4321);
  close(t);
  return 0;
}
