// Process set-up shared by the daemon and the load generator: the descriptor limit.
// POSIX (getrlimit/setrlimit) and the standard library only; no logging: callers say what they need to.
#pragma once
#include <cstdint>
#include <limits>

namespace cli {

// What the soft RLIMIT_NOFILE is after raising it to the hard limit, as nginx's worker_rlimit_nofile and
// HAProxy do at start: every connection needs a descriptor and the usual soft limit (1024) is far below what a
// sink is asked to hold. `unlimited` stands for RLIM_INFINITY.
inline constexpr std::uint64_t unlimited = std::numeric_limits<std::uint64_t>::max();
struct descriptor_limit {
    std::uint64_t soft = 0;  // in force now
    std::uint64_t hard = 0;  // the ceiling an unprivileged process cannot pass (LimitNOFILE=, ulimit -Hn)
};
descriptor_limit raise_descriptor_limit() noexcept;

// Descriptors a process keeps besides its connections: listeners, epoll and eventfds, log and files.
inline constexpr std::uint64_t reserved_descriptors = 64;

}  // namespace cli
