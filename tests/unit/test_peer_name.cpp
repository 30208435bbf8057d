// server::peer_name: the client address a connection's captures and log lines name, formatted without
// inet_ntop for IPv4. Checked against Asio's own formatting (inet_ntop) across the address and port range.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "server/connection.hpp"

namespace {

using server::tcp;

tcp::endpoint v4(std::uint32_t a, unsigned short port) {
    return {boost::asio::ip::address_v4(a), port};
}

}  // namespace

TEST_CASE("peer_name formats IPv4 as address:port and IPv6 in brackets") {
    CHECK(server::peer_name(v4(0x7f000001, 54321)) == "127.0.0.1:54321");
    CHECK(server::peer_name(v4(0, 0)) == "0.0.0.0:0");
    CHECK(server::peer_name(v4(0xffffffff, 65535)) == "255.255.255.255:65535");
    CHECK(server::peer_name(v4(0x0a00640a, 25)) == "10.0.100.10:25");
    CHECK(server::peer_name({boost::asio::ip::make_address("::1"), 25}) == "[::1]:25");
    CHECK(server::peer_name({boost::asio::ip::make_address("::ffff:10.0.0.1"), 2525}) == "[::ffff:10.0.0.1]:2525");
    CHECK(server::peer_name({boost::asio::ip::make_address("2001:db8::1"), 65535}) == "[2001:db8::1]:65535");
}

TEST_CASE("peer_name agrees with inet_ntop for IPv4 addresses across the range") {
    std::uint64_t x = 88172645463325252ull;  // xorshift64: a fixed sequence
    for (int i = 0; i < 20000; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        // Every byte value shows up in every position, short and long numbers alike; ports of 1 to 5 digits.
        const auto addr = static_cast<std::uint32_t>(x >> (i % 8));
        const auto port = static_cast<unsigned short>(i % 5 == 0 ? (x >> 40) % 10 : x >> 48);
        const auto ep = v4(addr, port);
        REQUIRE(server::peer_name(ep) == ep.address().to_string() + ":" + std::to_string(port));
    }
}
