#include "run/inherited_fds.h"

#include <unistd.h>

#include <algorithm>
#include <climits>

#include "run/setup_failure.h"

namespace netleash::run {
namespace {

void close_from_to(unsigned first, unsigned last) {
  if (first > last) return;
  if (close_range(first, last, 0) != 0)
    fail_setup("cannot close the inherited descriptors");
}

}  // namespace

void close_inherited_fds(std::vector<int> keep) {
  std::sort(keep.begin(), keep.end());
  unsigned next = 3;  // standard input, output and error always stay
  for (int fd : keep) {
    if (fd < static_cast<int>(next)) continue;  // 0-2, or kept twice
    close_from_to(next, static_cast<unsigned>(fd) - 1);
    next = static_cast<unsigned>(fd) + 1;
  }
  close_from_to(next, UINT_MAX);
}

}  // namespace netleash::run
