// libFuzzer target for the session: see session_check.hpp. Built by tests/fuzz/run.sh with clang.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "session_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto problem = fuzz::check_session_input(std::string_view(reinterpret_cast<const char*>(data), size));
    if (!problem.empty()) {
        std::fprintf(stderr, "session property broken: %s\n", problem.c_str());
        std::abort();
    }
    return 0;
}
