#include "netleashd/intake/tree_state.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace netleash::netleashd {

bool write_tree_state(const std::string& path, const TreeState& state, std::string* error) {
  nlohmann::json trees = nlohmann::json::array();
  for (const SavedTree& t : state.trees) {
    trees.push_back({{"name", t.name}, {"app", t.root.app}, {"pid", t.root.pid}, {"uid", t.root.uid},
                     {"start_time", t.root_start_time}, {"exe", t.root.exe}, {"sha256", t.root.sha256}});
  }
  nlohmann::json members = nlohmann::json::array();
  for (const SavedMember& m : state.members) members.push_back({m.pid, m.start_time, m.tree});
  const std::string text =
      nlohmann::json{{"trees", trees}, {"members", members}}.dump(-1, ' ', false,
                                                                  nlohmann::json::error_handler_t::replace);
  const std::string temporary = path + ".new";
  const int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    *error = temporary + ": " + std::strerror(errno);
    return false;
  }
  const bool written = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const int saved = errno;
  close(fd);
  if (!written || rename(temporary.c_str(), path.c_str()) != 0) {
    *error = path + ": " + std::strerror(written ? errno : saved);
    unlink(temporary.c_str());
    return false;
  }
  return true;
}

bool take_tree_state(const std::string& path, TreeState* state, std::string* error) {
  *state = TreeState{};
  std::ifstream in(path);
  if (!in) return true;
  std::stringstream text;
  text << in.rdbuf();
  std::remove(path.c_str());
  try {
    const nlohmann::json json = nlohmann::json::parse(text.str());
    for (const auto& t : json.at("trees")) {
      SavedTree tree;
      tree.name = t.at("name").get<std::string>();
      tree.root.app = t.at("app").get<std::string>();
      tree.root.pid = t.at("pid").get<pid_t>();
      tree.root.uid = t.at("uid").get<uid_t>();
      tree.root_start_time = t.at("start_time").get<uint64_t>();
      tree.root.exe = t.at("exe").get<std::string>();
      tree.root.sha256 = t.at("sha256").get<std::string>();
      state->trees.push_back(std::move(tree));
    }
    for (const auto& m : json.at("members"))
      state->members.push_back(SavedMember{m.at(0).get<pid_t>(), m.at(1).get<uint64_t>(), m.at(2).get<std::string>()});
  } catch (const nlohmann::json::exception& e) {
    *state = TreeState{};
    *error = path + ": " + e.what();
    return false;
  }
  return true;
}

}  // namespace netleash::netleashd
