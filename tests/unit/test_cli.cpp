// Command-line values shared by the daemon and the load generator.
#include <doctest/doctest.h>

#include <stdexcept>

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
