// How netleash-run reports a step of the confinement that failed: the command
// must never run half-confined, so every such failure ends netleash-run with
// exit status 125 (the contract in netleash-run(1)) before the command starts.
#pragma once

namespace netleash::run {

inline constexpr const char* kProgram = "netleash-run";
inline constexpr int kSetupFailed = 125;

// Prints "netleash-run: WHAT: strerror(errno)" and exits with kSetupFailed.
[[noreturn]] void fail_setup(const char* what);

}  // namespace netleash::run
