// libFuzzer target for the HTTP API's request parsing and routing: see http_check.hpp. Built by `tests/fuzz/run.sh http` with clang.
#include "http_check.hpp"
#include "fuzz_target.hpp"

FUZZ_TARGET("http", [](std::string_view in) { return fuzz::check_http_input(in); })
