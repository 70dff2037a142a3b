// Internal: the policy keys that bind an app to who runs it and from which
// files ("users", "groups", "binary", "sha256").
#pragma once

#include "netleashd/policy/policy.h"
#include "netleashd/policy/policy_diagnostics.h"
#include "netleashd/policy/policy_fields.h"

namespace netleash::policy::detail {

// Reads the four keys of a policy's top level; problems are reported at the
// offending value. User and group names are resolved now (NSS), so that a
// typo is an error when the policy is loaded, not a silent deny later.
RunnerPins parse_runner_pins(const Fields& fields, Diagnostics& diagnostics);

}  // namespace netleash::policy::detail
