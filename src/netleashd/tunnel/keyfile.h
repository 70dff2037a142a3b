// The daemon's private key file (BRIEF §4, daemon config "key"): one line
// holding the 32-byte X25519 private key in standard base64 (44 characters,
// libsodium's "original" variant, like `wg genkey`), then a newline.
#pragma once

#include "netleashd/noise/noise_dh.h"

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace netleash::tunnel {

// Every message starts with the file name: "PATH: reason".
class KeyFileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// For `netleashd --genkey FILE`: writes a new private key to `path` with mode
// 0600, atomically (an O_EXCL temporary file in the same directory, fsync,
// rename without replacing, fsync of the directory), and returns the public
// key in base64 for the daemon to print. Refuses to overwrite an existing
// file. Throws KeyFileError.
[[nodiscard]] std::string generate_key_file(const std::string& path);

// Loads a key file. Refuses a file that is not a regular file, that grants
// any permission to group or others (the private key could leak or be
// swapped), or whose content is not exactly one base64 key. Throws KeyFileError.
[[nodiscard]] KeyPair load_key_file(const std::string& path);

// A 32-byte key in standard base64 (44 characters).
[[nodiscard]] std::string key_to_base64(ByteView key);
// A public key from its base64 form (the config's "public_key"); nullopt
// unless it is exactly 44 valid characters encoding 32 bytes.
[[nodiscard]] std::optional<PublicKey> public_key_from_base64(std::string_view text);

}  // namespace netleash::tunnel
