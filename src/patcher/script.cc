#include "patcher/script.h"

#include <unistd.h>

#include <cstdlib>
#include <sstream>
#include <vector>

namespace netleash::elf {

namespace {

// The kernel reads at most this much of a "#!" line (BINPRM_BUF_SIZE).
constexpr size_t kShebangBytes = 256;

// The words of the "#!" line after "#!": the interpreter, then its argument, which
// the kernel passes as one string and env(1) may split again.
std::vector<std::string> shebang_words(const std::string& line) {
  std::vector<std::string> words;
  std::istringstream in(line);
  for (std::string word; in >> word;) words.push_back(word);
  return words;
}

// Control characters of a hostile file must not reach the operator's terminal.
std::string printable(std::string text) {
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return text;
}

std::optional<std::string> in_path(const std::string& command) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path != nullptr && *path != '\0' ? path : "/usr/local/bin:/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    std::string candidate = (dir.empty() ? "." : dir) + "/" + command;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

// The program env(1) runs: the first word that is neither an option (-S, -i) nor
// an assignment (NAME=value).
std::optional<std::string> env_command(const std::vector<std::string>& words) {
  for (size_t i = 1; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (w[0] != '-' && w.find('=') == std::string::npos) return w;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> script_refusal(int fd) {
  char buf[kShebangBytes];
  ssize_t n = pread(fd, buf, sizeof buf, 0);
  if (n < 2 || buf[0] != '#' || buf[1] != '!') return std::nullopt;
  std::string line(buf + 2, static_cast<size_t>(n) - 2);
  line = line.substr(0, line.find('\n'));
  std::vector<std::string> words = shebang_words(line);
  if (words.empty()) return "a script with an empty #! line: no interpreter to patch";
  const std::string fix = "; patch the interpreter (a copy of it) instead and run the script with it";
  std::string interpreter = printable(words[0]);
  bool through_env = interpreter == "/usr/bin/env" || interpreter == "/bin/env";
  std::optional<std::string> command = through_env ? env_command(words) : std::nullopt;
  if (!command) return "a script run by " + interpreter + fix;
  std::optional<std::string> found = command->find('/') == std::string::npos
                                         ? in_path(*command) : std::optional<std::string>(*command);
  std::string where = found ? printable(*found) : "not found in PATH";
  return "a script run by " + printable(*command) + " through " + interpreter + " (" + where +
         ")" + fix;
}

}  // namespace netleash::elf
