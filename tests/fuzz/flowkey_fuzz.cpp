// libFuzzer target for the header reader and the flow-key extractors: see flowkey_check.hpp. Built by `tests/fuzz/run.sh flowkey` with clang.
#include "flowkey_check.hpp"
#include "fuzz_target.hpp"

FUZZ_TARGET("flowkey", [](std::string_view in) { return fuzz::check_flowkey_input(in); })
