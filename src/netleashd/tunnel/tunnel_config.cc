#include "netleashd/tunnel/tunnel_config.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "netleashd/tunnel/keyfile.h"
#include "netleashd/policy/json_positions.h"
#include "netleashd/policy/unknown_key.h"

namespace netleash::netleashd {
namespace {

using policy::json::Kind;
using policy::json::Node;

// A message about the value at `offset`; turned into PATH:LINE:COL at the top.
struct TunnelConfigError {
  size_t offset;
  std::string message;
};

[[noreturn]] void fail(const Node& at, std::string message) {
  throw TunnelConfigError{at.offset, std::move(message)};
}

const Node& expect(const Node& value, Kind kind, const std::string& what) {
  if (value.kind != kind)
    fail(value, what + " must be " + (kind == Kind::kString ? "a " : "an ") +
                    std::string(policy::json::kind_name(kind)) + ", not " +
                    std::string(policy::json::kind_name(value.kind)));
  return value;
}

// The members of an object, refusing unknown and repeated keys at the key.
std::vector<const Node*> members(const Node& object, const std::string& what,
                                 const std::vector<std::string_view>& allowed) {
  std::set<std::string> seen;
  std::vector<const Node*> out;
  for (const Node& member : object.children) {
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), member.key) == allowed.end())
      throw TunnelConfigError{member.key_offset, policy::unknown_key_message(member.key, allowed, what)};
    if (!seen.insert(member.key).second)
      throw TunnelConfigError{member.key_offset, "\"" + member.key + "\" appears twice in " + what};
    out.push_back(&member);
  }
  return out;
}

const Node* find(const Node& object, const std::string& key) {
  for (const Node& member : object.children)
    if (member.key == key) return &member;
  return nullptr;
}

// Peer names follow the policy's "via" names, so every peer can be named there.
bool valid_peer_name(const std::string& name) {
  if (name.empty() || name.size() > 64 || !std::isalnum(static_cast<unsigned char>(name[0])))
    return false;
  for (const char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-')
      return false;
  return true;
}

policy::Endpoint read_endpoint(const Node& value, const std::string& what) {
  expect(value, Kind::kString, what);
  std::string why;
  const auto endpoint = policy::Endpoint::parse(value.string, &why);
  if (!endpoint) fail(value, what + ": " + why);
  if (endpoint->port == 0) fail(value, what + " needs a port (1-65535)");
  return *endpoint;
}

TunnelPeer read_peer(const Node& entry) {
  TunnelPeer peer;
  peer.name = entry.key;
  if (!valid_peer_name(peer.name))
    throw TunnelConfigError{entry.key_offset,
                            "peer name \"" + peer.name + "\" must be 1-64 characters of A-Z a-z "
                            "0-9 . _ -, starting with a letter or digit"};
  const std::string what = "peer \"" + peer.name + "\"";
  expect(entry, Kind::kObject, what);
  members(entry, what, {"address", "public_key"});
  const Node* address = find(entry, "address");
  const Node* key = find(entry, "public_key");
  if (address == nullptr) fail(entry, what + " needs \"address\" (\"ip:port\" of its tunnel_listen)");
  if (key == nullptr) fail(entry, what + " needs \"public_key\" (what its --genkey printed)");
  peer.address = read_endpoint(*address, "\"address\"");
  expect(*key, Kind::kString, "\"public_key\"");
  const auto public_key = tunnel::public_key_from_base64(key->string);
  if (!public_key) fail(*key, "\"public_key\" must be 32 bytes in standard base64 (44 characters)");
  peer.public_key = *public_key;
  return peer;
}

std::vector<policy::PortRange> read_ports(const Node& ports) {
  expect(ports, Kind::kArray, "\"ports\"");
  if (ports.children.empty()) fail(ports, "\"ports\" is empty; omit it to allow every port");
  std::vector<policy::PortRange> out;
  for (const Node& item : ports.children) {
    if (item.kind == Kind::kNumber) {
      if (!item.integer || *item.integer < 1 || *item.integer > 65535)
        fail(item, "a port must be a whole number from 1 to 65535");
      const auto port = static_cast<uint16_t>(*item.integer);
      out.push_back({port, port});
    } else if (item.kind == Kind::kString) {
      std::string why;
      const auto range = policy::PortRange::parse(item.string, &why);
      if (!range) fail(item, why);
      out.push_back(*range);
    } else {
      fail(item, "a port must be a number or a \"lo-hi\" string");
    }
  }
  return out;
}

TunnelIngress read_ingress(const Node& entry, const TunnelConfig& config) {
  expect(entry, Kind::kObject, "a \"tunnel_ingress\" entry");
  members(entry, "a \"tunnel_ingress\" entry", {"peer", "cidr", "ports", "protocol"});
  TunnelIngress ingress;
  const Node* peer = find(entry, "peer");
  const Node* cidr = find(entry, "cidr");
  if (peer == nullptr) fail(entry, "a \"tunnel_ingress\" entry needs \"peer\"");
  if (cidr == nullptr) fail(entry, "a \"tunnel_ingress\" entry needs \"cidr\"");
  ingress.peer = expect(*peer, Kind::kString, "\"peer\"").string;
  if (config.find_peer(ingress.peer) == nullptr)
    fail(*peer, "\"" + ingress.peer + "\" is not one of \"peers\"");
  std::string why;
  const auto parsed = policy::Cidr::parse(expect(*cidr, Kind::kString, "\"cidr\"").string, &why);
  if (!parsed) fail(*cidr, "\"cidr\": " + why);
  ingress.cidr = *parsed;
  if (const Node* ports = find(entry, "ports")) ingress.ports = read_ports(*ports);
  if (const Node* protocol = find(entry, "protocol")) {
    if (expect(*protocol, Kind::kString, "\"protocol\"").string != "tcp")
      fail(*protocol, "\"protocol\" must be \"tcp\" (tunnels carry TCP only)");
  }
  return ingress;
}

void read_tunnel(const Node& root, TunnelConfig* config) {
  if (root.kind != Kind::kObject) return;  // the main parser reports that
  const Node* key = find(root, "key");
  const Node* listen = find(root, "tunnel_listen");
  const Node* peers = find(root, "peers");
  const Node* ingress = find(root, "tunnel_ingress");
  if (key != nullptr) {
    config->key_file = expect(*key, Kind::kString, "\"key\"").string;
    if (config->key_file.empty()) fail(*key, "\"key\" must be the path of a key file");
  }
  if (listen != nullptr) config->listen = read_endpoint(*listen, "\"tunnel_listen\"");
  if (peers != nullptr) {
    expect(*peers, Kind::kObject, "\"peers\"");
    for (const Node* entry : members(*peers, "\"peers\"", {})) {
      TunnelPeer peer = read_peer(*entry);
      if (const TunnelPeer* other = config->find_peer(peer.public_key))
        fail(*find(*entry, "public_key"), "peer \"" + peer.name + "\" has the public key of peer \"" +
                                              other->name + "\"; a key names one peer");
      config->peers.push_back(std::move(peer));
    }
  }
  if (ingress != nullptr) {
    expect(*ingress, Kind::kArray, "\"tunnel_ingress\"");
    for (const Node& entry : ingress->children) config->ingress.push_back(read_ingress(entry, *config));
  }
  if (const Node* timeout = find(root, "tunnel_handshake_timeout_ms")) {
    if (timeout->kind != Kind::kNumber || !timeout->integer || *timeout->integer < 1 ||
        *timeout->integer > 3600000)
      fail(*timeout, "\"tunnel_handshake_timeout_ms\" must be a whole number from 1 to 3600000");
    config->handshake_timeout_ms = static_cast<uint32_t>(*timeout->integer);
  }
  // Dependencies between the keys: each names what is missing.
  const Node* needs_key = listen != nullptr ? listen : peers;
  if (key == nullptr && needs_key != nullptr)
    fail(*needs_key, "\"" + needs_key->key + "\" needs \"key\" (the host's private key file)");
  if (ingress != nullptr && listen == nullptr)
    fail(*ingress, "\"tunnel_ingress\" needs \"tunnel_listen\" (nothing could arrive)");
}

}  // namespace

const TunnelPeer* TunnelConfig::find_peer(const std::string& name) const {
  for (const TunnelPeer& peer : peers)
    if (peer.name == name) return &peer;
  return nullptr;
}

const TunnelPeer* TunnelConfig::find_peer(const tunnel::PublicKey& key) const {
  for (const TunnelPeer& peer : peers)
    if (peer.public_key == key) return &peer;
  return nullptr;
}

bool parse_tunnel_config(const std::string& path, const std::string& text, TunnelConfig* config,
                         std::string* error) {
  const policy::json::LineMap lines(text);
  auto at = [&](size_t offset) {
    const auto position = lines.position(offset);
    return path + ":" + std::to_string(position.line) + ":" + std::to_string(position.column) + ": ";
  };
  policy::json::SyntaxError syntax;
  const auto root = policy::json::parse(text, &syntax);
  if (!root) {
    *error = at(syntax.offset) + syntax.message;
    return false;
  }
  try {
    TunnelConfig parsed;
    read_tunnel(*root, &parsed);
    *config = std::move(parsed);
    return true;
  } catch (const TunnelConfigError& e) {
    *error = at(e.offset) + e.message;
  }
  return false;
}

}  // namespace netleash::netleashd
