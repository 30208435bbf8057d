// Command-line values shared by the daemon and the load generator: sizes, durations, HOST:PORT, and the
// command line that reads them.
#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

#include "cli/command_line.hpp"
#include "cli/units.hpp"

TEST_CASE("cli: sizes with binary units") {
    CHECK(cli::parse_size("1024") == 1024);
    CHECK(cli::parse_size("64M") == 64ull << 20);
    CHECK(cli::parse_size("64MiB") == 64ull << 20);
    CHECK(cli::parse_size("10kb") == 10240);
    CHECK(cli::parse_size("2G") == 2ull << 30);
    CHECK(cli::parse_size("7b") == 7);
    CHECK_THROWS_AS(cli::parse_size("12Q"), std::invalid_argument);
    CHECK_THROWS_AS(cli::parse_size("M"), std::invalid_argument);
    CHECK_THROWS_AS(cli::parse_size(""), std::invalid_argument);
    CHECK_THROWS_AS(cli::parse_size("99999999999999G"), std::invalid_argument);
}

TEST_CASE("cli: sizes written back as the text that reads them") {
    CHECK(cli::format_size(64ull << 20) == "64M");
    CHECK(cli::format_size(1ull << 20) == "1M");
    CHECK(cli::format_size(2ull << 30) == "2G");
    CHECK(cli::format_size(1536) == "1536");
    CHECK(cli::format_size(1000) == "1000");
    CHECK(cli::format_size(0) == "0");
    for (std::uint64_t n : {1ull, 1024ull, 1025ull, 64ull << 20, 3ull << 30, 5ull << 40})
        CHECK(cli::parse_size(cli::format_size(n)) == n);
}

TEST_CASE("cli: durations, seconds by default, one rule for the daemon and the load generator") {
    using ms = std::chrono::milliseconds;
    CHECK(cli::parse_duration("300") == ms(300'000));
    CHECK(cli::parse_duration("300s") == ms(300'000));
    CHECK(cli::parse_duration("250ms") == ms(250));
    CHECK(cli::parse_duration("5m") == ms(300'000));
    CHECK(cli::parse_duration("1h") == ms(3'600'000));
    CHECK(cli::parse_duration("0") == ms(0));
    CHECK(cli::parse_duration("10S") == ms(10'000));
    CHECK(cli::parse_duration("7MS") == ms(7));
    // Fractions (the load generator's --duration 0.5): rounded up to whole milliseconds, never down to 0.
    CHECK(cli::parse_duration("1.5") == ms(1500));
    CHECK(cli::parse_duration("0.25s") == ms(250));
    CHECK(cli::parse_duration("1.1s") == ms(1100));
    CHECK(cli::parse_duration(".5m") == ms(30'000));
    CHECK(cli::parse_duration("2.s") == ms(2000));
    CHECK(cli::parse_duration("0.0001s") == ms(1));
    CHECK(cli::parse_duration("0.5ms") == ms(1));
    CHECK(cli::parse_duration("1.0000000000000000001ms") == ms(2));
    CHECK(cli::parse_duration("0.000000000000000ms") == ms(0));
    CHECK(cli::parse_duration("8760h") == ms(8760ll * 3'600'000));
    for (const char* bad : {"", "s", ".", ".s", "5parsecs", "soon", "-1", "+1", " 1", "1 s", "1e3", "1..5", "0x10"})
        CHECK_THROWS_AS(cli::parse_duration(bad), std::invalid_argument);
    for (const char* big : {"8761h", "8760.001h", "99999999999999999999", "18446744073709551615ms"})
        CHECK_THROWS_AS(cli::parse_duration(big), std::invalid_argument);
}

TEST_CASE("cli: durations and numbers written back") {
    using ms = std::chrono::milliseconds;
    CHECK(cli::format_duration(ms(300'000)) == "300s");
    CHECK(cli::format_duration(ms(10'000)) == "10s");
    CHECK(cli::format_duration(ms(250)) == "250ms");
    CHECK(cli::format_duration(ms(0)) == "0s");
    for (auto d : {ms(1), ms(1500), ms(600'000)}) CHECK(cli::parse_duration(cli::format_duration(d)) == d);
    CHECK(cli::format_number(1.0) == "1");
    CHECK(cli::format_number(0.0) == "0");
    CHECK(cli::format_number(0.25) == "0.25");
}

TEST_CASE("cli: HOST:PORT and [v6]:PORT") {
    auto a = cli::split_host_port("127.0.0.1:2525");
    CHECK(a.host == "127.0.0.1");
    CHECK(a.port == "2525");
    auto b = cli::split_host_port("[::1]:0");
    CHECK(b.host == "::1");
    CHECK(b.port == "0");
    CHECK(cli::split_host_port("mx.example:25").host == "mx.example");
    CHECK_THROWS_AS(cli::split_host_port("::1:25"), std::invalid_argument);   // a v6 literal needs brackets
    CHECK_THROWS_AS(cli::split_host_port("[::1]25"), std::invalid_argument);
    CHECK_THROWS_AS(cli::split_host_port(":25"), std::invalid_argument);
    CHECK_THROWS_AS(cli::split_host_port("nocolon"), std::invalid_argument);
}

TEST_CASE("cli: a command line reads its flags; a bad one ends the program with exit code 2") {
    using namespace std::chrono_literals;
    const auto make = [](cli::command_line& cl) {
        cl.add()("wait", "how long", cxxopts::value<std::string>()->default_value(cli::format_duration(300s)))(
            "limit", "how much", cxxopts::value<std::string>()->default_value(cli::format_size(64ull << 20)));
    };
    const auto run = [&](std::vector<const char*> argv, std::chrono::milliseconds& wait, std::uint64_t& limit) {
        cli::command_line cl("test", "a test");
        make(cl);
        bool read = false;
        auto code = cl.parse(int(argv.size()), argv.data(), [&] {
            read = true;
            wait = cl.duration("wait");
            limit = cl.size("limit");
        });
        return std::pair{code, read};
    };
    std::chrono::milliseconds wait{};
    std::uint64_t limit = 0;
    CHECK(run({"test"}, wait, limit) == std::pair{std::optional<int>{}, true});
    CHECK(wait == 300s);  // the defaults read back as the values they were written from
    CHECK(limit == 64ull << 20);
    CHECK(run({"test", "--wait", "1.5", "--limit", "1K"}, wait, limit) == std::pair{std::optional<int>{}, true});
    CHECK(wait == 1500ms);
    CHECK(limit == 1024);
    CHECK(run({"test", "--wait", "5parsecs"}, wait, limit) == std::pair{std::optional<int>{2}, true});
    CHECK(run({"test", "stray"}, wait, limit) == std::pair{std::optional<int>{2}, false});
    CHECK(run({"test", "--no-such-flag"}, wait, limit) == std::pair{std::optional<int>{2}, false});
}
