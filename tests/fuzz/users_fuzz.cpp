// libFuzzer target for the --auth-users file parser: see users_check.hpp. Built by `tests/fuzz/run.sh users` with clang.
#include "users_check.hpp"
#include "fuzz_target.hpp"

FUZZ_TARGET("users", [](std::string_view in) { return fuzz::check_users_input(in); })
