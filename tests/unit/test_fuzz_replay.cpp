// Replays every fuzz target's corpus, tests/fuzz/corpus/TARGET/ (seeds and past crashes), through its property.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "../fuzz/fault_check.hpp"
#include "../fuzz/flowkey_check.hpp"
#include "../fuzz/http_check.hpp"
#include "../fuzz/mime_check.hpp"
#include "../fuzz/proxy_check.hpp"
#include "../fuzz/reply_check.hpp"
#include "../fuzz/session_check.hpp"
#include "../fuzz/users_check.hpp"

namespace {

// Calls check(bytes) for each file of the target's corpus; returns how many there were.
template <class Check>
std::size_t replay(const char* target, Check&& check) {
    namespace fs = std::filesystem;
    std::size_t n = 0;
    for (const auto& e : fs::directory_iterator(fs::path(FUZZ_CORPUS_DIR) / target)) {
        if (!e.is_regular_file()) continue;
        std::ifstream in(e.path(), std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        CAPTURE(e.path().filename().string());
        check(ss.str());
        ++n;
    }
    return n;
}

}  // namespace

TEST_CASE("fuzz corpus replays without breaking the session's properties") {
    auto n = replay("session", [](const std::string& input) {
        CHECK(fuzz::check_session_input(input) == "");
        CHECK(fuzz::check_session_input(input, {}) == "");  // byte by byte and at every offset too
    });
    CHECK(n >= 5);
}

TEST_CASE("fuzz corpus replays without breaking the PROXY header's properties") {
    auto n = replay("proxy", [](const std::string& input) {
        CHECK(fuzz::check_proxy_input(input) == "");
        CHECK(fuzz::check_proxy_input(input, {}) == "");  // byte by byte and at every offset too
    });
    CHECK(n >= 10);
}

TEST_CASE("fuzz corpus replays without breaking the client-reply parser's properties") {
    auto n = replay("reply", [](const std::string& input) {
        CHECK(fuzz::check_reply_input(input) == "");
        CHECK(fuzz::check_reply_input(input, {}) == "");  // byte by byte and at every offset too
    });
    CHECK(n >= 5);
}

// The corpus of each target whose property is check(bytes) alone, and how many files it has at least.
TEST_CASE("fuzz corpus replays without breaking the other parsers' properties") {
    struct target {
        const char* name;
        std::string (*check)(std::string_view);
        std::size_t seeds;
    };
    for (auto t : {target{"fault", fuzz::check_fault_input, 6}, target{"users", fuzz::check_users_input, 4},
                   target{"flowkey", fuzz::check_flowkey_input, 4}, target{"http", fuzz::check_http_input, 7},
                   target{"mime", fuzz::check_mime_input, 7}}) {
        CAPTURE(t.name);
        CHECK(replay(t.name, [&](const std::string& input) { CHECK(t.check(input) == ""); }) >= t.seeds);
    }
}

TEST_CASE("fuzz properties of the other parsers can fail") {
    std::string in = "250 ok\r\n";
    smtp::client_reply r{smtp::reply_status::complete, in.size(), 250, 1, {}, std::string_view(in).substr(4, 2), in};
    CHECK(fuzz::check_complete(in, r) == "");
    r.code = 199;
    CHECK(fuzz::check_complete(in, r) != "");
    CHECK(fuzz::check_refusal(fault::rule_error("code", "must be 400")) == "");
    CHECK(fuzz::check_refusal(fault::rule_error("", std::string("a\nb"))) != "");
    CHECK(fuzz::check_flow_name("team-a") == "");
    CHECK(fuzz::check_flow_name("team a") != "");
    CHECK(fuzz::check_flow_name(std::string(sink::max_flow_name + 1, 'a')) != "");
    CHECK(fuzz::check_flow_name("") != "");
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

TEST_CASE("fuzz property catches a broken PROXY verdict") {
    // The property must be able to fail: a sound run passes, and each way of spoiling it is noticed.
    std::string in = "PROXY TCP4 192.0.2.1 198.51.100.7 5678 25\r\nEHLO a\r\n";
    auto run = fuzz::feed_proxy({in});
    REQUIRE(fuzz::check_verdict(in, run) == "");
    auto off = run;
    off.result.consumed -= 1;  // not at the CR LF
    CHECK(fuzz::check_verdict(in, off) != "");
    auto ugly = run;
    ugly.header.authority = "\x01";
    CHECK(fuzz::check_verdict(in, ugly) != "");
    auto half = run;
    half.header.destination.clear();
    CHECK(fuzz::check_verdict(in, half) != "");
    auto odd = run;
    odd.header.source = "192.0.2.01";
    CHECK(fuzz::check_verdict(in, odd) != "");
    auto refused = fuzz::feed_proxy({"EHLO a\r\n"});
    REQUIRE(fuzz::check_verdict("EHLO a\r\n", refused) == "");
    refused.result.consumed = 1;
    CHECK(fuzz::check_verdict("EHLO a\r\n", refused) != "");
}
