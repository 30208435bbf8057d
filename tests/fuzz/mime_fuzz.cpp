// libFuzzer target for the MIME viewer: see mime_check.hpp. Built by `tests/fuzz/run.sh mime` with clang.
#include "mime_check.hpp"
#include "fuzz_target.hpp"

FUZZ_TARGET("mime", [](std::string_view in) { return fuzz::check_mime_input(in); })
