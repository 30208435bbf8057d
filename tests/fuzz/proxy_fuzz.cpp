// libFuzzer target for the PROXY header parser: see proxy_check.hpp. Built by `tests/fuzz/run.sh proxy` with clang.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "proxy_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto problem = fuzz::check_proxy_input(std::string_view(reinterpret_cast<const char*>(data), size));
    if (!problem.empty()) {
        std::fprintf(stderr, "proxy property broken: %s\n", problem.c_str());
        std::abort();
    }
    return 0;
}
