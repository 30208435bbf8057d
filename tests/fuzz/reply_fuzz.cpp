// libFuzzer target for the load generator's client-reply parser: see reply_check.hpp. Built by `tests/fuzz/run.sh reply` with clang.
#include "reply_check.hpp"
#include "fuzz_target.hpp"

FUZZ_TARGET("reply", [](std::string_view in) { return fuzz::check_reply_input(in); })
