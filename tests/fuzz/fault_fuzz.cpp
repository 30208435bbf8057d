// libFuzzer target for the --fault rule parser: see fault_check.hpp. Built by `tests/fuzz/run.sh fault` with clang.
#include "fault_check.hpp"
#include "fuzz_target.hpp"

FUZZ_TARGET("fault", [](std::string_view in) { return fuzz::check_fault_input(in); })
