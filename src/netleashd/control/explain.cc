#include "netleashd/control/explain.h"

#include "netleashd/daemon.h"
#include "netleashd/dns/answer.h"
#include "netleashd/decide/inbound_decisions.h"
#include "netleashd/policy/policy_explain.h"

namespace netleash::netleashd {
namespace {

using nlohmann::json;

json rule_json(const policy::AppPolicy& app, const std::optional<size_t>& index) {
  if (!index || *index >= app.outbound.size()) return nullptr;
  return policy::rule_text(app.outbound[*index]);
}

json no_policy_answer(Daemon& d, const std::string& app, json answer) {
  const policy::Decision decision = policy::no_policy(app);
  const std::string closest = d.policies->closest_app(app);
  answer["verdict"] = "deny";
  answer["rule"] = nullptr;
  answer["reason"] = decision.reason;
  answer["hint"] = closest.empty() ? "no policy file in " + d.policy_dir + " has \"app\": \"" + app + "\""
                                   : "did you mean " + closest + "?";
  answer["did_you_mean"] = closest.empty() ? json(nullptr) : json(closest);
  return answer;
}

}  // namespace

json explain_answer(Daemon& d, const json& request) {
  if (!request.contains("app") || !request["app"].is_string() || !request.contains("dest") ||
      !request["dest"].is_string())
    return {{"ok", false}, {"errors", {"expected {\"cmd\": \"explain\", \"app\": ID, \"dest\": DEST}"}}};
  const std::string app_id = request["app"];
  std::string error;
  const auto target = policy::parse_target(request["dest"].get<std::string>(), &error);
  if (!target) return {{"ok", false}, {"errors", {error}}};
  json answer = {{"ok", true}, {"app", app_id}, {"dest", request["dest"]},
                 {"protocol", std::string(policy::to_string(target->protocol))}};
  const policy::AppPolicy* app = d.policies->find(app_id);
  if (app == nullptr) return no_policy_answer(d, app_id, std::move(answer));
  answer["mode"] = app->learn ? "learn" : "enforce";
  const uint64_t now = uv_now(d.loop) / 1000;
  policy::Explanation explanation;
  PeerIdentity who;
  who.app = app_id;
  if (target->endpoint && dns::daemon_answers(d, who, address_of(*target->endpoint))) {
    // As for the app's own queries: nothing reaches that server, so no rule is needed.
    explanation.decision = dns::answered_here();
  } else if (target->endpoint) {
    const std::vector<std::string> names = d.resolutions.names(app_id, target->endpoint->address, now);
    explanation = policy::explain_address(*app, *target->endpoint, target->protocol, names);
    answer["resolved_from"] = names;
  } else {
    explanation = policy::explain_host(*app, target->host, target->port, target->protocol);
    json addresses = json::array();
    for (const auto& address : d.resolutions.addresses(app_id, target->host, now))
      addresses.push_back(address.to_string());
    answer["host"] = {{"name", target->host},
                      {"may_resolve", policy::may_resolve(*app, target->host)},
                      {"addresses", addresses}};
  }
  const policy::Decision& decision = explanation.decision;
  answer["verdict"] = decision.allow ? "allow" : "deny";
  answer["learned"] = decision.learned;
  answer["rule"] = decision.rule ? json(*decision.rule) : json(nullptr);
  answer["rule_text"] = rule_json(*app, decision.rule);
  answer["reason"] = decision.reason;
  answer["nearest"] = explanation.nearest ? json(*explanation.nearest) : json(nullptr);
  answer["nearest_rule"] = rule_json(*app, explanation.nearest);
  answer["hint"] = explanation.hint;
  return answer;
}

}  // namespace netleash::netleashd
