// Replays every file in tests/fuzz/corpus/ (seeds and past crashes) through the fuzzer's property.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "../fuzz/session_check.hpp"

TEST_CASE("fuzz corpus replays without breaking the session's properties") {
    namespace fs = std::filesystem;
    std::size_t n = 0;
    for (const auto& e : fs::directory_iterator(FUZZ_CORPUS_DIR)) {
        if (!e.is_regular_file()) continue;
        std::ifstream in(e.path(), std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        CAPTURE(e.path().filename().string());
        CHECK(fuzz::check_session_input(ss.str()) == "");
        CHECK(fuzz::check_session_input(ss.str(), {}) == "");  // byte by byte and at every offset too
        ++n;
    }
    CHECK(n >= 5);
}

TEST_CASE("fuzz property catches a split-dependent session") {
    // The property must be able to fail: a profile without PIPELINING answers differently when the
    // same bytes arrive in one piece or in many (by design), and the check must notice.
    smtp::options o;
    o.disable(smtp::extension::pipelining);
    smtp::profile p(o);
    std::string in = "EHLO a\r\nNOOP\r\n";
    auto whole = fuzz::feed_in_pieces(p, split::cut(in, {}));
    auto bytes = fuzz::feed_in_pieces(p, split::cut(in, {8}));
    CHECK(whole.output != bytes.output);
    CHECK(fuzz::well_formed("250 ok\r\n") == "");
    CHECK(fuzz::well_formed("25 x\r\n") != "");
    CHECK(fuzz::well_formed("250 ok") != "");
}
