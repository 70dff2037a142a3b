// Where netleashd listens unless told otherwise, and so where the shim and
// netleashctl look for it. One definition: a daemon and a shim that disagreed
// on the default would leave every leashed program without a network.
#pragma once

namespace netleash {

inline constexpr char kDefaultDaemonSocket[] = "/run/netleash/netleashd.sock";

}  // namespace netleash
