// Raising the soft descriptor limit. See process.hpp.
#include "cli/process.hpp"

#include <sys/resource.h>

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

}  // namespace cli
