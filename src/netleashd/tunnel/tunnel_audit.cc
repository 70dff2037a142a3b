#include "netleashd/tunnel/tunnel_audit.h"

namespace netleash::netleashd {

void audit_tunnel_refusal(Daemon& d, const std::string& src, const std::string& peer,
                          const std::string& reason) {
  log_message("tunnel from %s%s%s refused: %s", src.c_str(), peer.empty() ? "" : " peer ",
              peer.c_str(), reason.c_str());
  AuditEvent event;
  event.op = "tunnel";
  event.src = src;
  event.peer = peer;
  event.reason = reason;
  d.audit->record(event);
}

void audit_tunnel_ingress(Daemon& d, const std::string& peer, const std::string& app,
                          const std::string& src, const std::string& dst,
                          const policy::Decision& decision) {
  AuditEvent event;
  event.op = "connect";
  event.app = app;
  event.src = src;
  event.dst = dst;
  event.peer = peer;
  event.allow = decision.allow;
  event.rule = decision.rule;
  event.reason = decision.reason;
  d.audit->record(event);
}

}  // namespace netleash::netleashd
