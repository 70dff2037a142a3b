// The netleashd policy engine: loading per-application allowlists and
// deciding connections, name resolutions and listens against them.
//
// A PolicySet is immutable once loaded; share it as
// std::shared_ptr<const PolicySet> and swap the pointer on reload. Nothing
// here does I/O except PolicySet::load_dir.
//
// Format and matching semantics: src/netleashd/policy/README.md and
// config/netleash.schema.json.
#pragma once

#include <cstddef>
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "netleashd/policy/address.h"
#include "netleashd/policy/policy_host.h"

namespace netleash::policy {

// The protocol of an actual socket.
enum class Protocol : std::uint8_t { kTcp, kUdp };
// The protocol an outbound rule covers.
enum class ProtocolMatch : std::uint8_t { kTcp, kUdp, kAny };

std::string_view to_string(Protocol protocol);  // "tcp" / "udp"

struct OutboundRule {
  // Exactly one of host and cidr is set.
  std::optional<HostPattern> host;
  std::optional<Cidr> cidr;
  std::vector<PortRange> ports;  // empty: every port
  ProtocolMatch protocol = ProtocolMatch::kTcp;
  std::string via;  // peer daemon to tunnel through; empty: connect directly
  std::string comment;

  bool covers(Protocol p) const;
  bool covers_port(std::uint16_t port) const;
};

struct InboundRule {
  // The address the application binds, as it believes it has it. No address
  // (written as a bare port) or 0.0.0.0 / :: match a bind to any address.
  std::optional<IpAddress> listen_address;
  std::uint16_t listen_port = 0;
  Endpoint expose;         // what the daemon really binds; port 0: any free port
  std::vector<Cidr> from;  // allowed peers; empty: any peer
  Protocol protocol = Protocol::kTcp;
  std::string comment;
};

// Who may run an app, and from which files (policy_runner.cc). Every list
// empty: not restricted (the file's key was absent; an empty list is an error).
struct RunnerPins {
  std::vector<uid_t> users;          // "users": names resolved when the policy is loaded
  std::vector<gid_t> groups;         // "groups": likewise
  std::vector<std::string> binary;   // "binary": absolute paths
  std::vector<std::string> sha256;   // "sha256": 64 lowercase hex digits
};

// The process asking, as the kernel describes it (/proc/PID/exe and status).
struct Runner {
  std::string exe;           // the executable's path
  std::vector<uid_t> uids;   // real, effective, saved, filesystem
  std::vector<gid_t> gids;   // real, effective, saved, filesystem, then supplementary
};

struct AppPolicy {
  std::string app;
  std::string file;          // the file it was loaded from, for messages
  std::string app_location;  // "FILE:LINE:COL" of the "app" value, for messages
  // "resolve": "any": the daemon may resolve every name for this app, not
  // only names some host rule matches.
  bool resolve_any = false;
  // "dns": "direct": DNS queries the app sends itself (UDP or TCP to port 53)
  // are ordinary traffic judged by the outbound rules. Omitted: netleashd
  // answers them under this policy and they never leave the host.
  bool dns_direct = false;
  // "mode": "learn": what the rules would deny is allowed and audited as
  // learned (apply_mode); identity and runner refusals still deny.
  bool learn = false;
  RunnerPins pins;
  std::vector<OutboundRule> outbound;
  std::vector<InboundRule> inbound;
};

struct Decision {
  bool allow = false;
  // Index of the deciding rule in the file's outbound (or inbound) array.
  std::optional<std::size_t> rule;
  std::string reason;  // short, for the audit log and debug output
  std::string via;     // the allowing outbound rule's peer, else empty
  std::string host;    // the name a host rule matched, else empty
  // Learn mode allowed what the rules deny; `reason` says why it would be denied.
  bool learned = false;
};

// Larger policy files are refused (policies are hand-written and small).
inline constexpr std::size_t kMaxPolicyBytes = 4 * 1024 * 1024;

// Parses and validates one policy file's text. On failure appends
// "FILE:LINE:COL: message" lines (every problem found, not just the first) to
// *errors and returns nullopt. `file` is only used in messages.
std::optional<AppPolicy> parse_policy(std::string_view file, std::string_view text,
                                      std::vector<std::string>* errors);

class PolicySet {
 public:
  PolicySet() = default;

  // Loads every DIR/*.json (not recursive). All-or-nothing: on any error
  // returns nullopt with every error of every file in *errors, sorted by file.
  // An empty directory is a valid, deny-everything set. Any other file gets a
  // "FILE: warning: not loaded" line in *warnings (a policy saved as
  // app.JSON or app.json.txt must not vanish silently), except hidden files
  // and `~` backups, which editors leave behind.
  static std::optional<PolicySet> load_dir(const std::string& dir, std::vector<std::string>* errors,
                                           std::vector<std::string>* warnings = nullptr);

  // Builds a set from parsed policies; fails (errors as above) when two share an app id.
  static std::optional<PolicySet> from_policies(std::vector<AppPolicy> policies,
                                                std::vector<std::string>* errors);

  // nullptr when the app has no policy. The pointer lives as long as the set.
  const AppPolicy* find(std::string_view app) const;
  const std::vector<AppPolicy>& apps() const { return apps_; }  // sorted by app id
  // The app id an unknown `app` most likely meant ("perl_app" for
  // "perl-app"), as for unknown keys; empty when none is close.
  std::string closest_app(std::string_view app) const;

 private:
  std::vector<AppPolicy> apps_;
};

// The decision for an app without a policy ("no policy for app X").
Decision no_policy(std::string_view app);

// Empty when `runner` may use this policy: every uid of it is in "users",
// one of its gids is in "groups", its executable is one of "binary" and its
// digest one of "sha256" (each only when given); else why not. `sha256` is the
// executable's digest (hex), needed only when the policy pins digests.
std::string why_runner_refused(const AppPolicy& policy, const Runner& runner,
                               std::string_view sha256);

// Outbound connect or sendto to `destination`. `host_names` are the names the
// daemon itself resolved for this app to this address, still within their TTL
// (see ResolutionCache); empty if none. A host rule matches when one of them
// matches its pattern; a cidr rule matches the address. First matching rule wins.
Decision match_outbound(const AppPolicy& policy, const Endpoint& destination, Protocol protocol,
                        std::span<const std::string> host_names);

// May the daemon resolve `name` for this app? True when the name is valid and
// some host rule (of any port or protocol) matches it, or the policy says
// "resolve": "any".
bool may_resolve(const AppPolicy& policy, std::string_view name);

// The app binds (and listens on, or receives on) `bound`. Allowed when an
// inbound rule of that protocol has that listen port and a matching address:
// either side being absent, 0.0.0.0 or :: matches any address. The rule index
// names the rule whose `expose` the daemon binds.
Decision match_listen(const AppPolicy& policy, const Endpoint& bound, Protocol protocol);

// Learn mode: a denial of `policy`'s rules becomes an allow marked learned
// that keeps the reason it would have been denied; anything else is unchanged.
Decision apply_mode(const AppPolicy& policy, Decision decision);

// May `peer` connect (or send) to the listener of inbound rule `rule`?
Decision match_inbound_peer(const AppPolicy& policy, std::size_t rule, const IpAddress& peer);

}  // namespace netleash::policy
