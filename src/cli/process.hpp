// Process set-up shared by the daemon and the load generator: the descriptor limit, malloc's mapping threshold.
// POSIX (getrlimit/setrlimit), glibc's mallopt and the standard library only; no logging: callers say what they
// need to.
#pragma once
#include <cstddef>
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

// Makes malloc serve blocks up to `bytes` (at least glibc's default 128 KiB, at most its own dynamic ceiling of
// 32 MiB) from its heap instead of a mapping of their own (M_MMAP_THRESHOLD). The daemon sets its largest capture:
// a message capture grows by doubling, so one over 64 KiB passes the default, and a mapped block costs a page fault
// per 4 KiB written (the kernel zero-fills each page) and an munmap when freed, where a heap block reuses the room of
// an evicted capture. glibc raises the threshold by itself only after freeing a mapped block larger than it, which a
// capture trimmed to its message's size (under 128 KiB) never is. The trim threshold (free room at the heap's top
// kept rather than given back to the system) goes to twice that, as glibc's own raise sets it: at the default
// 128 KiB, a capture freed at the top was given back and the next one faulted its pages in again (brk twice and
// about one page fault per 100 KiB message).
void map_allocations_above(std::size_t bytes) noexcept;

}  // namespace cli
