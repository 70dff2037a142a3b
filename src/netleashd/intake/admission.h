// Who may ask anything at all: a process in a tree whose first process's
// identity record was honoured (identity.h, process_trees.h), whose app has a
// policy, and whom that policy's "users", "groups" (the process's own
// credentials), "binary" and "sha256" (the tree's first executable) admit.
// Every decision starts here.
#pragma once

#include "netleashd/daemon.h"
#include "netleashd/policy/policy.h"

namespace netleash::netleashd {

// The policy `who` is decided under, or nullptr with *refusal filled in.
const policy::AppPolicy* admitted_policy(Daemon& d, const PeerIdentity& who,
                                         policy::Decision* refusal);

}  // namespace netleash::netleashd
