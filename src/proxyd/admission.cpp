#include "admission.h"

namespace netleash::proxyd {

const policy::AppPolicy* admitted_policy(Daemon& d, const PeerIdentity& who,
                                         policy::Decision* refusal) {
  *refusal = policy::Decision{};
  if (who.app.empty()) {
    refusal->reason = who.failure;
    return nullptr;
  }
  const policy::AppPolicy* app = d.policies->find(who.app);
  if (app == nullptr) {
    *refusal = policy::no_policy(who.app);
    return nullptr;
  }
  // The digest is computed only for policies that pin it (once per file version).
  std::string digest;
  if (!app->pins.sha256.empty()) {
    std::string error;
    digest = d.digests.digest(who, &error);
    if (digest.empty()) {
      refusal->reason = "cannot compute the executable's sha256: " + error;
      return nullptr;
    }
  }
  if (std::string why = policy::why_runner_refused(*app, who.runner, digest); !why.empty()) {
    refusal->reason = "app \"" + who.app + "\": " + why;
    return nullptr;
  }
  return app;
}

}  // namespace netleash::proxyd
