#include "netleashd/config.h"

#include <pwd.h>

#include <algorithm>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string_view>
#include <vector>

#include "netleashd/policy/unknown_key.h"

namespace netleash::netleashd {
namespace {

using Json = nlohmann::json;

// nlohmann reports a byte offset; turn it into the line and column people want.
std::string position_of(const std::string& text, size_t byte) {
  size_t line = 1, column = 1;
  for (size_t i = 0; i < byte && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return std::to_string(line) + ":" + std::to_string(column);
}

struct ConfigError {
  std::string message;
};

template <typename T>
void read_number(const Json& object, const char* key, T* out, T minimum,
                 T maximum = std::numeric_limits<T>::max()) {
  const auto it = object.find(key);
  if (it == object.end()) return;
  if (!it->is_number_unsigned())
    throw ConfigError{std::string("\"") + key + "\" must be a non-negative integer"};
  const auto value = it->get<uint64_t>();
  if (value < minimum || value > maximum)
    throw ConfigError{std::string("\"") + key + "\" is out of range"};
  *out = static_cast<T>(value);
}

void reject_unknown_keys(const Json& object, const char* where,
                         const std::vector<std::string_view>& known) {
  for (const auto& item : object.items())
    if (std::find(known.begin(), known.end(), item.key()) == known.end())
      throw ConfigError{policy::unknown_key_message(item.key(), known, where)};
}

void read_resolver(const Json& object, ResolverConfig* resolver) {
  if (!object.is_object()) throw ConfigError{"\"resolver\" must be an object"};
  reject_unknown_keys(object, "\"resolver\"",
                      {"servers", "hosts_file", "timeout_ms", "tries", "max_in_flight",
                       "max_queued", "min_ttl", "max_ttl", "hosts_ttl", "dns_ports"});
  if (const auto it = object.find("servers"); it != object.end()) {
    if (!it->is_array()) throw ConfigError{"\"servers\" must be an array of \"ip:port\""};
    for (const auto& server : *it) {
      if (!server.is_string()) throw ConfigError{"\"servers\" entries must be strings"};
      resolver->servers.push_back(server.get<std::string>());
    }
  }
  if (const auto it = object.find("hosts_file"); it != object.end()) {
    if (!it->is_string()) throw ConfigError{"\"hosts_file\" must be a path"};
    resolver->hosts_file = it->get<std::string>();
  }
  if (const auto it = object.find("dns_ports"); it != object.end()) {
    if (!it->is_array() || it->empty())
      throw ConfigError{"\"dns_ports\" must be a non-empty array of ports"};
    resolver->dns_ports.clear();
    for (const auto& port : *it) {
      if (!port.is_number_unsigned() || port.get<uint64_t>() < 1 || port.get<uint64_t>() > 65535)
        throw ConfigError{"\"dns_ports\" entries must be ports 1-65535, not " + port.dump()};
      resolver->dns_ports.push_back(static_cast<uint16_t>(port.get<uint64_t>()));
    }
  }
  read_number(object, "timeout_ms", &resolver->timeout_ms, 1u);
  read_number(object, "tries", &resolver->tries, 1u, 10u);
  read_number(object, "max_in_flight", &resolver->max_in_flight, size_t{1});
  read_number(object, "max_queued", &resolver->max_queued, size_t{0});
  read_number(object, "min_ttl", &resolver->min_ttl_s, 0u);
  read_number(object, "max_ttl", &resolver->max_ttl_s, 1u);
  read_number(object, "hosts_ttl", &resolver->hosts_ttl_s, 0u);
  if (resolver->min_ttl_s > resolver->max_ttl_s)
    throw ConfigError{"\"min_ttl\" is above \"max_ttl\""};
}

// Numbers are uids; strings are user names (or uids written as strings).
void read_trusted_owners(const Json& list, std::vector<uid_t>* owners) {
  if (!list.is_array()) throw ConfigError{"\"trusted_owners\" must be an array of uids or user names"};
  for (const auto& owner : list) {
    if (owner.is_number_unsigned() && owner.get<uint64_t>() < 0xffffffffu) {
      owners->push_back(static_cast<uid_t>(owner.get<uint64_t>()));
      continue;
    }
    if (!owner.is_string())
      throw ConfigError{"\"trusted_owners\": " + owner.dump() + " is neither a uid nor a user name"};
    const std::string name = owner.get<std::string>();
    std::vector<char> buffer(16384);
    passwd entry{};
    passwd* found = nullptr;
    if (getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 || !found)
      throw ConfigError{"\"trusted_owners\": unknown user \"" + name + "\""};
    owners->push_back(found->pw_uid);
  }
}

void read_config(const Json& root, Config* config) {
  if (!root.is_object()) throw ConfigError{"the configuration must be a JSON object"};
  // The tunnel keys belong to the encrypted daemon-to-daemon links (brief,
  // section 4); they are accepted here so one file serves both features.
  reject_unknown_keys(root, "the configuration",
                      {"max_connections", "max_connections_per_app", "max_pending", "max_trees_per_user",
                       "request_timeout_ms", "connect_timeout_ms", "high_water", "low_water", "splice",
                       "udp_max_peers", "udp_idle_timeout_ms", "resolver", "trusted_owners", "key",
                       "tunnel_listen", "peers", "tunnel_ingress", "tunnel_handshake_timeout_ms"});
  read_number(root, "max_connections", &config->max_connections, size_t{1});
  read_number(root, "max_connections_per_app", &config->max_connections_per_app, size_t{1});
  read_number(root, "max_pending", &config->max_pending, size_t{1});
  read_number(root, "max_trees_per_user", &config->max_trees_per_user, size_t{1});
  read_number(root, "request_timeout_ms", &config->request_timeout_ms, 1u);
  read_number(root, "connect_timeout_ms", &config->connect_timeout_ms, 1u);
  read_number(root, "high_water", &config->high_water, size_t{1024});
  read_number(root, "low_water", &config->low_water, size_t{0});
  if (const auto it = root.find("splice"); it != root.end()) {
    if (!it->is_boolean()) throw ConfigError{"\"splice\" must be true or false, not " + it->dump()};
    config->splice = it->get<bool>();
  }
  read_number(root, "udp_max_peers", &config->udp_max_peers, size_t{1});
  read_number(root, "udp_idle_timeout_ms", &config->udp_idle_timeout_ms, 1u);
  if (config->low_water >= config->high_water)
    throw ConfigError{"\"low_water\" must be below \"high_water\""};
  if (const auto it = root.find("resolver"); it != root.end())
    read_resolver(*it, &config->resolver);
  if (const auto it = root.find("trusted_owners"); it != root.end())
    read_trusted_owners(*it, &config->trusted_owners);
}

}  // namespace

bool parse_config(const std::string& path, const std::string& text, Config* config,
                  std::string* error) {
  Json root;
  try {
    root = Json::parse(text);
  } catch (const Json::parse_error& e) {
    *error = path + ":" + position_of(text, e.byte == 0 ? 0 : e.byte - 1) + ": " + e.what();
    return false;
  }
  try {
    Config parsed;
    read_config(root, &parsed);
    // The tunnel keys are read with positions (FILE:LINE:COL): tunnel_config.cc.
    if (!parse_tunnel_config(path, text, &parsed.tunnel, error)) return false;
    *config = parsed;
    return true;
  } catch (const ConfigError& e) {
    *error = path + ": " + e.message;
  } catch (const Json::exception& e) {
    *error = path + ": " + e.what();
  }
  return false;
}

bool load_config(const std::string& path, Config* config, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = path + ": cannot open";
    return false;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse_config(path, text.str(), config, error);
}

}  // namespace netleash::netleashd
