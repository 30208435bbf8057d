// Raising the soft descriptor limit. See process.hpp.
#include "cli/process.hpp"

#include <malloc.h>
#include <sys/resource.h>

#include <algorithm>

namespace cli {

namespace {
std::uint64_t value(rlim_t v) { return v == RLIM_INFINITY ? unlimited : std::uint64_t(v); }
}  // namespace

descriptor_limit raise_descriptor_limit() noexcept {
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return {};
    if (rl.rlim_cur != rl.rlim_max) {
        rlimit raised = rl;
        raised.rlim_cur = rl.rlim_max;
        if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
    }
    return {value(rl.rlim_cur), value(rl.rlim_max)};
}

void map_allocations_above(std::size_t bytes) noexcept {
    constexpr std::size_t glibc_default = 128 * 1024;
    constexpr std::size_t glibc_ceiling = 32 * 1024 * 1024;
    constexpr std::size_t chunk_overhead = 4096;  // malloc compares the block with its own header, rounded up
    const auto threshold = std::clamp(bytes + chunk_overhead, glibc_default, glibc_ceiling);
    ::mallopt(M_MMAP_THRESHOLD, static_cast<int>(threshold));
    ::mallopt(M_TRIM_THRESHOLD, static_cast<int>(2 * threshold));
}

}  // namespace cli
