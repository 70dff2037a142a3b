#include "netleashd/policy/unknown_key.h"

#include <algorithm>
#include <numeric>

#include "netleashd/policy/policy_quote.h"

namespace netleash::policy {
namespace {

// Levenshtein distance, for suggesting "protocol" when someone wrote "protcol".
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), std::size_t{0});
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t substitution = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
      diagonal = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, substitution});
    }
  }
  return row[b.size()];
}

}  // namespace

std::string_view closest_key(std::string_view key, const std::vector<std::string_view>& allowed) {
  constexpr std::size_t kMaxEdits = 2;
  // Comparing against keys of a few characters is pointless for long garbage.
  if (key.size() > 32) return {};
  std::string_view best;
  std::size_t best_edits = kMaxEdits + 1;
  for (std::string_view candidate : allowed) {
    std::size_t edits = edit_distance(key, candidate);
    // "out" for "outbound" is far in edits but plainly meant.
    if (key.size() >= 3 && candidate.starts_with(key)) edits = std::min<std::size_t>(edits, 1);
    if (edits < best_edits && edits < key.size()) {
      best = candidate;
      best_edits = edits;
    }
  }
  return best;
}

std::string unknown_key_message(std::string_view key, const std::vector<std::string_view>& allowed,
                                std::string_view context) {
  std::string message = "unknown key " + quoted(key) + " in " + std::string(context);
  if (const std::string_view meant = closest_key(key, allowed); !meant.empty())
    return message + " (did you mean " + quoted(meant) + "?)";
  message += " (allowed:";
  for (std::string_view candidate : allowed) message += " " + std::string(candidate);
  return message + ")";
}

}  // namespace netleash::policy
