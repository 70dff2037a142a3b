// The namespaces netleash-run puts the command in.
#pragma once

namespace netleash::run {

// Moves this process into a new user namespace, in which the caller's uid and
// gid (root's too) are mapped to themselves and nothing else is mapped, then
// into a new network namespace owned by it, whose loopback it brings up.
// Any failure ends netleash-run with exit status 125.
void enter_private_network();

}  // namespace netleash::run
