// The libFuzzer entry point of a target whose property is `std::string check(std::string_view)` ("" or what
// broke): a broken property is printed and aborts, so libFuzzer keeps the input. Built by tests/fuzz/run.sh.
#pragma once
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#define FUZZ_TARGET(name, check)                                                                          \
    extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {                  \
        std::string problem = check(std::string_view(reinterpret_cast<const char*>(data), size));        \
        if (!problem.empty()) {                                                                           \
            std::fprintf(stderr, "%s property broken: %s\n", name, problem.c_str());                      \
            std::abort();                                                                                 \
        }                                                                                                 \
        return 0;                                                                                         \
    }
