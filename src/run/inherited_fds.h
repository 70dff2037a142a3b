// The descriptors the command starts with.
#pragma once

#include <vector>

namespace netleash::run {

// Closes every descriptor above 2 except those in `keep`. A socket inherited
// from the caller was made in the caller's network namespace and would still
// reach the network from inside the new one. Any failure ends netleash-run
// with exit status 125.
void close_inherited_fds(std::vector<int> keep);

}  // namespace netleash::run
