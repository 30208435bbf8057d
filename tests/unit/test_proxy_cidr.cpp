// Addresses and CIDR networks of src/proxy/: strict text in, inet_ntop's text out, and which peers a network
// holds (the coming --proxy-protocol-from), IPv4-mapped IPv6 peers counting as IPv4.
#include <doctest/doctest.h>

#include <array>
#include <string>

#include "proxy/cidr.hpp"

using namespace std::string_literals;

namespace {

proxy::address addr(std::string_view text) {
    CAPTURE(text);
    auto a = proxy::address::parse(text);
    REQUIRE(a);
    return *a;
}

// Each row: a network (which must parse), a peer, and whether the network holds the peer.
struct holds_row {
    std::string_view network, peer;
    bool held;
};

void check_holds(std::initializer_list<holds_row> rows) {
    for (const auto& r : rows) {
        CAPTURE(r.network);
        CAPTURE(r.peer);
        auto n = proxy::cidr::parse(r.network);
        REQUIRE(n);
        CHECK(n->contains(addr(r.peer)) == r.held);
    }
}

}  // namespace

TEST_CASE("address: IPv4 is a strict dotted quad") {
    CHECK(addr("192.0.2.1").to_string() == "192.0.2.1");
    CHECK(addr("0.0.0.0").is_v4());
    CHECK(addr("255.255.255.255").bytes().size() == 4);
    CHECK(addr("10.20.30.40").bytes()[3] == 40);
    for (std::string_view bad : {"", "1.2.3", "1.2.3.4.5", "1.2.3.04", "01.2.3.4", "1.2.3.256", "1.2.3.1000",
                                 "1..2.3", ".1.2.3", "1.2.3.4.", " 1.2.3.4", "1.2.3.4 ", "1.2.3.4/8", "1.2.3.a",
                                 "0x1.2.3.4", "+1.2.3.4", "1.2.3.-4", "4294967295"}) {
        CAPTURE(bad);
        CHECK_FALSE(proxy::address::parse(bad));
    }
}

TEST_CASE("address: IPv6 as inet_pton reads it, written as inet_ntop writes it") {
    CHECK(addr("2001:DB8:0:0:0:0:0:1").to_string() == "2001:db8::1");
    CHECK(addr("2001:db8:0:1:0:0:0:1").to_string() == "2001:db8:0:1::1");
    CHECK(addr("::").to_string() == "::");
    CHECK(addr("::1").bytes().size() == 16);
    CHECK(addr("::ffff:192.0.2.1").to_string() == "::ffff:192.0.2.1");
    CHECK_FALSE(addr("::ffff:192.0.2.1").is_v4());
    CHECK(addr("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255").to_string() ==
          "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
    for (std::string bad : {"::1%eth0"s, "fe80::1%1"s, ":::1"s, "1:2:3:4:5:6:7:8:9"s, "2001:db8::1::2"s,
                            "12345::1"s, "::g"s, "::1\0garbage"s, "::1 "s, "[::1]"s, std::string(60, ':'),
                            "::ffff:192.0.2.01"s}) {
        CAPTURE(bad);
        CHECK_FALSE(proxy::address::parse(bad));
    }
}

TEST_CASE("address: an IPv4-mapped IPv6 address unmaps to its IPv4 address, others stay") {
    CHECK(addr("::ffff:192.0.2.1").unmapped() == addr("192.0.2.1"));
    CHECK(addr("::192.0.2.1").unmapped() == addr("::192.0.2.1"));
    CHECK(addr("2001:db8::1").unmapped() == addr("2001:db8::1"));
    CHECK(addr("192.0.2.1").unmapped() == addr("192.0.2.1"));
    const std::array<std::uint8_t, 16> mapped{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1};
    CHECK(proxy::address::v6(mapped).unmapped().to_string() == "127.0.0.1");
    const std::array<std::uint8_t, 4> v4{127, 0, 0, 1};
    CHECK(proxy::address::v4(v4) == addr("127.0.0.1"));
}

TEST_CASE("cidr: a network or one host, written back with its prefix") {
    for (auto [text, written] : std::initializer_list<std::pair<std::string_view, std::string_view>>{
             {"10.0.0.0/8", "10.0.0.0/8"},
             {"127.0.0.1", "127.0.0.1/32"},
             {"192.168.1.128/25", "192.168.1.128/25"},
             {"0.0.0.0/0", "0.0.0.0/0"},
             {"::1", "::1/128"},
             {"::/0", "::/0"},
             {"2001:DB8::/32", "2001:db8::/32"},
             {"::ffff:10.0.0.0/104", "10.0.0.0/8"},
             {"::ffff:192.0.2.1", "192.0.2.1/32"},
             {"::ffff:0.0.0.0/96", "0.0.0.0/0"}}) {
        CAPTURE(text);
        auto n = proxy::cidr::parse(text);
        REQUIRE(n);
        CHECK(n->to_string() == written);
    }
    CHECK(proxy::cidr::parse("10.0.0.0/8")->prefix() == 8);
    CHECK(proxy::cidr::parse("10.0.0.0/8")->network() == addr("10.0.0.0"));
}

TEST_CASE("cidr: bad text, prefixes and host bits are refused") {
    for (std::string_view bad : {"", "/8", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/08", "10.0.0.0/-1", "10.0.0.0/+8",
                                 "10.0.0.0/8/8", "10.0.0.0/8 ", "10.0.0/8", "010.0.0.0/8", "10.0.0.1/8",
                                 "192.168.1.129/25", "::1/129", "::1/0128", "2001:db8::/16", "fe80::1%eth0/64",
                                 "::ffff:0:0/95", "::ffff:10.0.0.1/104", "localhost", "10.0.0.0/1000"}) {
        CAPTURE(bad);
        CHECK_FALSE(proxy::cidr::parse(bad));
    }
}

TEST_CASE("cidr: which peers a network holds") {
    check_holds({{"10.0.0.0/8", "10.0.0.0", true},
                 {"10.0.0.0/8", "10.255.255.255", true},
                 {"10.0.0.0/8", "11.0.0.0", false},
                 {"10.0.0.0/8", "9.255.255.255", false},
                 {"192.168.1.128/25", "192.168.1.127", false},
                 {"192.168.1.128/25", "192.168.1.128", true},
                 {"192.168.1.128/25", "192.168.1.255", true},
                 {"127.0.0.1", "127.0.0.1", true},
                 {"127.0.0.1", "127.0.0.2", false},
                 {"0.0.0.0/0", "203.0.113.9", true},
                 {"0.0.0.0/0", "2001:db8::1", false},
                 {"2001:db8::/33", "2001:db8:7fff::1", true},
                 {"2001:db8::/33", "2001:db8:8000::1", false},
                 {"::1", "::1", true},
                 {"::1", "::2", false},
                 {"::/0", "2001:db8::1", true}});
}

TEST_CASE("cidr: IPv4-mapped peers and networks are IPv4") {
    check_holds({{"10.0.0.0/8", "::ffff:10.1.2.3", true},
                 {"10.0.0.0/8", "::ffff:11.1.2.3", false},
                 {"::ffff:10.0.0.0/104", "10.2.3.4", true},
                 {"::ffff:10.0.0.0/104", "::ffff:10.2.3.4", true},
                 {"0.0.0.0/0", "::ffff:1.2.3.4", true},
                 {"::/0", "192.0.2.1", false},
                 {"::/0", "::ffff:192.0.2.1", false},
                 {"10.0.0.0/8", "::10.1.2.3", false}});  // IPv4-compatible (deprecated), not mapped
}
