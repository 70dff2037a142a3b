#include "netleashd/noise/noise_protocol.h"

#include <vector>

namespace netleash::tunnel {
namespace {

std::vector<std::string_view> split_sections(std::string_view text) {
  std::vector<std::string_view> sections;
  while (true) {
    const std::size_t underscore = text.find('_');
    sections.push_back(text.substr(0, underscore));
    if (underscore == std::string_view::npos) return sections;
    text.remove_prefix(underscore + 1);
  }
}

[[noreturn]] void unsupported(UnsupportedReason reason, std::string_view name,
                              std::string_view why) {
  throw UnsupportedProtocol(reason, std::string(name) + ": " + std::string(why));
}

}  // namespace

Protocol parse_protocol_name(std::string_view name) {
  require_sodium();
  const std::vector<std::string_view> sections = split_sections(name);
  if (name.size() > 255 || sections.size() != 5 || sections[0] != "Noise") {
    unsupported(UnsupportedReason::malformed, name, "not a Noise protocol name");
  }
  Protocol protocol;
  protocol.name = std::string(name);

  const auto pattern = parse_handshake_pattern(sections[1]);
  if (!pattern) unsupported(UnsupportedReason::pattern, name, "unknown or invalid handshake pattern");
  protocol.pattern = *pattern;

  if (sections[2] != "25519") unsupported(UnsupportedReason::dh, name, "only 25519 DH is supported");

  if (sections[3] == "ChaChaPoly") {
    protocol.cipher = CipherAlgorithm::chachapoly;
  } else if (sections[3] == "AESGCM") {
    protocol.cipher = CipherAlgorithm::aesgcm;
  } else {
    unsupported(UnsupportedReason::cipher, name, "unknown cipher");
  }
  if (!cipher_available(protocol.cipher)) {
    unsupported(UnsupportedReason::cipher, name, "AESGCM needs AES-NI, which this CPU lacks");
  }

  if (sections[4] == "BLAKE2b") {
    protocol.hash = HashAlgorithm::blake2b;
  } else if (sections[4] == "SHA256") {
    protocol.hash = HashAlgorithm::sha256;
  } else if (sections[4] == "SHA512") {
    protocol.hash = HashAlgorithm::sha512;
  } else {
    unsupported(UnsupportedReason::hash, name, "hash not supported (BLAKE2s is not in libsodium)");
  }
  return protocol;
}

}  // namespace netleash::tunnel
