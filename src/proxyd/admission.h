// Who may ask anything at all: a process whose identity record is honoured
// (identity.h), whose app has a policy, and whom that policy's "users",
// "groups", "binary" and "sha256" admit. Every decision starts here.
#pragma once

#include "daemon.h"
#include "policy/policy.h"

namespace netleash::proxyd {

// The policy `who` is decided under, or nullptr with *refusal filled in.
const policy::AppPolicy* admitted_policy(Daemon& d, const PeerIdentity& who,
                                         policy::Decision* refusal);

}  // namespace netleash::proxyd
