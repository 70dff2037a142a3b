// PolicySet: loading a directory of policy files and looking up apps.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <cstdio>
#include <iterator>
#include <system_error>

#include "netleashd/policy/policy.h"
#include "netleashd/policy/unknown_key.h"

namespace netleash::policy {
namespace {

namespace fs = std::filesystem;

// Hidden files and `~` backups are what editors leave beside the file they
// edit; nobody meant them as policies.
bool is_editor_leftover(const fs::path& path) {
  const std::string name = path.filename().string();
  return name.empty() || name.front() == '.' || name.back() == '~';
}

// Reads a file, but never more than one byte past the size parse_policy
// accepts (it reports the oversize). Failure: nullopt and a "FILE: reason" error.
std::optional<std::string> read_file(const fs::path& path, std::vector<std::string>* errors) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  std::string contents;
  if (file != nullptr) {
    char buffer[64 * 1024];
    std::size_t n = 0;
    while (contents.size() <= kMaxPolicyBytes && (n = std::fread(buffer, 1, sizeof buffer, file)) > 0) {
      contents.append(buffer, n);
    }
    const bool failed = std::ferror(file) != 0;
    std::fclose(file);
    if (!failed) return contents;
  }
  errors->push_back(path.string() + ": cannot read: " + std::strerror(errno));
  return std::nullopt;
}

}  // namespace

std::optional<PolicySet> PolicySet::load_dir(const std::string& dir, std::vector<std::string>* errors,
                                             std::vector<std::string>* warnings) {
  std::vector<std::string> local_errors;
  std::vector<fs::path> files;
  std::vector<fs::path> ignored;
  std::error_code error;
  for (fs::directory_iterator it(dir, error), end; !error && it != end; it.increment(error)) {
    if (is_editor_leftover(it->path())) continue;
    // Symlinks are followed (policy directories often link into packages); a
    // dangling one is an error, not a silently missing policy. Directories and
    // special files (a FIFO would block the read) are not policies.
    std::error_code status_error;
    const fs::file_type type = it->status(status_error).type();
    if (it->path().extension() != ".json") {
      if (type == fs::file_type::regular) ignored.push_back(it->path());
    } else if (type == fs::file_type::regular) {
      files.push_back(it->path());
    } else if (type == fs::file_type::not_found) {
      local_errors.push_back(it->path().string() + ": cannot read: dangling symbolic link");
    }
  }
  if (error) {
    local_errors.push_back(dir + ": cannot read directory: " + error.message());
  }
  std::sort(files.begin(), files.end());
  std::sort(ignored.begin(), ignored.end());
  if (warnings != nullptr)
    for (const fs::path& file : ignored)
      warnings->push_back(file.string() + ": warning: not loaded: policy files must end in .json");

  std::vector<AppPolicy> policies;
  for (const fs::path& file : files) {
    auto text = read_file(file, &local_errors);
    if (!text) continue;
    if (auto policy = parse_policy(file.string(), *text, &local_errors)) {
      policies.push_back(std::move(*policy));
    }
  }
  std::optional<PolicySet> set;
  if (local_errors.empty()) set = from_policies(std::move(policies), &local_errors);
  if (errors != nullptr) {
    errors->insert(errors->end(), std::make_move_iterator(local_errors.begin()),
                   std::make_move_iterator(local_errors.end()));
  }
  return local_errors.empty() ? std::move(set) : std::nullopt;
}

std::optional<PolicySet> PolicySet::from_policies(std::vector<AppPolicy> policies,
                                                  std::vector<std::string>* errors) {
  // Stable: among duplicates, the first one given (the first file) stays first.
  std::stable_sort(policies.begin(), policies.end(),
                   [](const AppPolicy& a, const AppPolicy& b) { return a.app < b.app; });
  bool duplicates = false;
  for (std::size_t i = 1; i < policies.size(); ++i) {
    const AppPolicy& first = policies[i - 1];
    const AppPolicy& again = policies[i];
    if (first.app != again.app) continue;
    duplicates = true;
    if (errors == nullptr) continue;
    // Report both files, each at its own "app", so either can be fixed.
    errors->push_back(first.app_location + ": app \"" + first.app + "\" is also defined at " +
                      again.app_location);
    errors->push_back(again.app_location + ": app \"" + again.app + "\" is already defined at " +
                      first.app_location);
  }
  if (duplicates) return std::nullopt;
  PolicySet set;
  set.apps_ = std::move(policies);
  return set;
}

const AppPolicy* PolicySet::find(std::string_view app) const {
  const auto it = std::lower_bound(apps_.begin(), apps_.end(), app,
                                   [](const AppPolicy& policy, std::string_view id) { return policy.app < id; });
  if (it == apps_.end() || it->app != app) return nullptr;
  return &*it;
}

std::string PolicySet::closest_app(std::string_view app) const {
  std::vector<std::string_view> ids;
  ids.reserve(apps_.size());
  for (const AppPolicy& policy : apps_) ids.push_back(policy.app);
  return std::string(closest_key(app, ids));
}

}  // namespace netleash::policy
