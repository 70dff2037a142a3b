// Quoting text from a policy file (or an app) for an error message or reason.
#pragma once

#include <string>
#include <string_view>

namespace netleash::policy {

// `text` in double quotes, JSON-escaped (so a message stays on one line and
// shows what was really written, e.g. "a\nb"), cut after 64 bytes with "...".
std::string quoted(std::string_view text);

}  // namespace netleash::policy
