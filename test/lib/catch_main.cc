// Catch2's main() and implementation, compiled once for every Catch2 test
// program (catch2_main_dep in test/meson.build).
#define CATCH_CONFIG_RUNNER
#include <csignal>

#include <catch2/catch.hpp>

int main(int argc, char** argv) {
  // As in the daemon: a vanished peer must be an EPIPE, not a dead process.
  std::signal(SIGPIPE, SIG_IGN);
  return Catch::Session().run(argc, argv);
}
