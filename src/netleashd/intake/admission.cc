#include "netleashd/intake/admission.h"

namespace netleash::netleashd {

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
  // "binary" and "sha256" hold the whole tree to what its first process ran
  // (a child runs other programs under the app it inherited); "users" and
  // "groups" hold each process to its own credentials.
  if (!app->pins.sha256.empty() && who.tree.sha256.empty()) {
    refusal->reason = "app \"" + who.app + "\" pins \"sha256\", and the digest of " + who.tree.exe +
                      " was not taken when its tree began (the pin is newer than the tree)";
    return nullptr;
  }
  policy::Runner pinned = who.runner;
  pinned.exe = who.tree.exe;
  if (std::string why = policy::why_runner_refused(*app, pinned, who.tree.sha256); !why.empty()) {
    refusal->reason = "app \"" + who.app + "\": " + why;
    return nullptr;
  }
  return app;
}

}  // namespace netleash::netleashd
