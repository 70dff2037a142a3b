// Leaving the command with no capability, now or after any exec.
#pragma once

namespace netleash::run {

// Empties the bounding, ambient, inheritable, permitted and effective sets
// and locks the securebits so that no later execve (of anything, setuid-root
// or file-capability programs included, and uid 0 itself) gives one back.
// Needs CAP_SETPCAP in the current user namespace; any failure ends
// netleash-run with exit status 125.
void drop_all_capabilities();

}  // namespace netleash::run
