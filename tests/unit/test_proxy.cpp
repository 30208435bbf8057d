// The PROXY header parser (HAProxy's proxy-protocol.txt): every valid form of both versions with the client's
// bytes after it, every refusal and the byte it is decided at. Every input runs whole, byte by byte, in pieces
// and split at every offset, and must satisfy the fuzz target's properties too (tests/fuzz/proxy_check.hpp).
#include <doctest/doctest.h>

#include <ostream>
#include <string>

#include "../fuzz/proxy_check.hpp"
#include "sink/counters.hpp"

namespace fuzz {
std::ostream& operator<<(std::ostream& os, const proxy_run& r) {
    return os << "state " << int(r.result.state) << " " << proxy::to_string(r.result.why) << " consumed "
              << r.result.consumed << " client " << r.header.client() << " " << r.problem;
}
}  // namespace fuzz

#include "harness.hpp"

using namespace std::string_literals;
using proxy::reason;
using proxy::status;

namespace {

const std::string ehlo = "EHLO client.example\r\n";
const std::string tls_hello = "\x16\x03\x01\x00\xc8\x01\x00\x00\xc4\x03\x03"s;

// Whole, byte by byte, in pieces of 2, 3 and 7, and split in two at every offset must agree, and satisfy the
// fuzz target's properties.
fuzz::proxy_run parse(std::string_view in) {
    CAPTURE(in);
    auto r = test::for_each_split(in, fuzz::feed_proxy, {{{1}, {2}, {3}, {7}}});
    CHECK(r.problem == "");
    CHECK(fuzz::check_verdict(in, r) == "");
    return r;
}

// `in` starts with a header of `length` bytes: it is done at its last byte, and every shorter prefix waits.
proxy::header parse_header(std::string_view in, std::size_t length) {
    auto r = parse(in);
    CHECK(r.result == proxy::result{status::done, reason::none, length});
    for (std::size_t n = 0; n < length; ++n)
        CHECK(fuzz::feed_proxy({in.substr(0, n)}).result.state == status::need_more);
    return r.header;
}

// `in` is refused for `why` as soon as its first `at` bytes are there, not before.
void check_refused(std::string_view in, reason why, std::size_t at) {
    CAPTURE(in);
    CAPTURE(proxy::to_string(why));
    const proxy::result refused{status::error, why, 0};
    CHECK(parse(in).result == refused);
    CHECK(fuzz::feed_proxy({in.substr(0, at)}).result == refused);
    CHECK(fuzz::feed_proxy({in.substr(0, at - 1)}).result.state == status::need_more);
}

// A v1 line is refused at its LF.
void check_bad_v1(const std::string& line) { check_refused(line + ehlo, reason::bad_v1, line.size()); }

// A version 2 header: signature, version and command, family and protocol, the block's length, the block.
std::string v2(std::uint8_t ver_cmd, std::uint8_t fam_proto, std::string_view block) {
    auto s = "\r\n\r\n\0\r\nQUIT\n"s;
    s += static_cast<char>(ver_cmd);
    s += static_cast<char>(fam_proto);
    s += static_cast<char>(block.size() >> 8);
    s += static_cast<char>(block.size() & 0xff);
    return s.append(block);
}

std::string tlv(std::uint8_t type, std::string_view value) {
    std::string s(1, static_cast<char>(type));
    s += static_cast<char>(value.size() >> 8);
    s += static_cast<char>(value.size() & 0xff);
    return s.append(value);
}

// What a header says of the addresses, compared at once.
struct addresses {
    proxy::family fam;
    std::string source, destination;
    std::uint16_t source_port, destination_port;
    std::string client;
    bool operator==(const addresses&) const = default;
};

addresses addresses_of(const proxy::header& h) {
    return {h.fam, h.source, h.destination, h.source_port, h.destination_port, h.client()};
}

std::ostream& operator<<(std::ostream& os, const addresses& a) {
    return os << "family " << int(a.fam) << " " << a.source << " " << a.destination << " " << a.source_port << " "
              << a.destination_port << " client " << a.client;
}

// The addresses every TCP4 and TCP6 header here carries, in either version.
const addresses tcp4_addresses{proxy::family::inet, "192.0.2.1", "198.51.100.7", 5678, 25, "192.0.2.1:5678"};
const addresses tcp6_addresses{proxy::family::inet6, "2001:db8::1", "2001:db8::2", 65535, 587, "[2001:db8::1]:65535"};
const addresses no_addresses{proxy::family::unspec, "", "", 0, 0, ""};

// 192.0.2.1:5678 -> 198.51.100.7:25
const std::string inet_block = "\xc0\x00\x02\x01" "\xc6\x33\x64\x07" "\x16\x2e" "\x00\x19"s;
// [2001:db8::1]:65535 -> [2001:db8::2]:587
const std::string inet6_block = "\x20\x01\x0d\xb8" + std::string(11, '\0') + "\x01" +
                                "\x20\x01\x0d\xb8" + std::string(11, '\0') + "\x02" + "\xff\xff\x02\x4b";
constexpr std::uint8_t v2_proxy = 0x21, v2_local = 0x20, tcp4 = 0x11, tcp6 = 0x21;

}  // namespace

TEST_CASE("proxy v1: TCP4, then the client's SMTP") {
    std::string line = "PROXY TCP4 192.0.2.1 198.51.100.7 5678 25\r\n";
    auto h = parse_header(line + ehlo, 43);
    CHECK(h.version == 1);
    CHECK(h.cmd == proxy::command::proxy);
    CHECK(addresses_of(h) == tcp4_addresses);
    CHECK(h.authority == "");
    CHECK_FALSE(h.ssl.present);
}

TEST_CASE("proxy v1: the longest TCP4 line (56 bytes) and the smallest values") {
    auto h = parse_header("PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n" + ehlo, 56);
    CHECK(addresses_of(h) ==
          addresses{proxy::family::inet, "255.255.255.255", "255.255.255.255", 65535, 65535, "255.255.255.255:65535"});
    h = parse_header("PROXY TCP4 0.0.0.0 10.0.0.0 0 0\r\n", 33);
    CHECK(addresses_of(h) == addresses{proxy::family::inet, "0.0.0.0", "10.0.0.0", 0, 0, "0.0.0.0:0"});
}

TEST_CASE("proxy v1: TCP6, written back in inet_ntop's form, then a TLS ClientHello") {
    auto h = parse_header("PROXY TCP6 2001:DB8:0:0:0:0:0:1 2001:db8::2 65535 587\r\n" + tls_hello, 55);
    CHECK(addresses_of(h) == tcp6_addresses);
    h = parse_header("PROXY TCP6 ::ffff:192.0.2.1 ::1 1 2\r\n", 37);
    CHECK(addresses_of(h) == addresses{proxy::family::inet6, "::ffff:192.0.2.1", "::1", 1, 2, "[::ffff:192.0.2.1]:1"});
}

TEST_CASE("proxy v1: UNKNOWN, short and with anything after it up to 107 bytes") {
    auto h = parse_header("PROXY UNKNOWN\r\n" + ehlo, 15);
    CHECK(h.version == 1);
    CHECK(h.cmd == proxy::command::unknown);
    CHECK_FALSE(h.has_address());
    CHECK(addresses_of(h) == no_addresses);
    std::string f = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
    std::string longest = "PROXY UNKNOWN " + f + " " + f + " 65535 65535\r\n";
    CHECK(longest.size() == 107);
    h = parse_header(longest + ehlo, 107);
    CHECK(h.cmd == proxy::command::unknown);
    CHECK(addresses_of(h) == no_addresses);
    parse_header("PROXY UNKNOWN whatever \x01\x7f junk\r\n"s, 32);
}

TEST_CASE("proxy v1: every break of the line's grammar is bad_v1, decided at its LF") {
    for (std::string line : {
             "PROXY\r\n", "PROXY \r\n", "PROXY TCP4\r\n", "PROXY TCP4 \r\n", "PROXYTCP4 1.2.3.4 5.6.7.8 1 2\r\n",
             "PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n", "PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n",
             "PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n",
             "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",
             "PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n", "PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n",
             "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n", "PROXY UNKNOWNX\r\n", "PROXY unknown\r\n",
             // addresses: leading zeros, out of range, too few or many parts, the wrong family, a zone
             "PROXY TCP4 192.0.2.01 5.6.7.8 1 2\r\n", "PROXY TCP4 1.2.3.4 05.6.7.8 1 2\r\n",
             "PROXY TCP4 256.0.0.1 5.6.7.8 1 2\r\n", "PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n",
             "PROXY TCP4 1.2.3.4.5 5.6.7.8 1 2\r\n", "PROXY TCP4 1.2.3.4 5.6.7.8. 1 2\r\n",
             "PROXY TCP4 1.2.3.-4 5.6.7.8 1 2\r\n", "PROXY TCP4 2001:db8::1 5.6.7.8 1 2\r\n",
             "PROXY TCP6 192.0.2.1 ::1 1 2\r\n", "PROXY TCP6 ::1 1.2.3.4 1 2\r\n",
             "PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n", "PROXY TCP6 2001:db8:::1 ::1 1 2\r\n",
             "PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 1 2\r\n",
             // ports: leading zeros, out of range, signs, not decimal
             "PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n", "PROXY TCP4 1.2.3.4 5.6.7.8 1 00\r\n",
             "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", "PROXY TCP4 1.2.3.4 5.6.7.8 1 655350\r\n",
             "PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n", "PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n",
             "PROXY TCP4 1.2.3.4 5.6.7.8 0x1 2\r\n", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\t\r\n"})
        check_bad_v1(line);
}

TEST_CASE("proxy v1: a CR or LF alone is bad_v1 at once, without waiting for the line's end") {
    check_refused("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n" + ehlo, reason::bad_v1, 31);
    check_refused("PROXY\n", reason::bad_v1, 6);
    check_refused("PROXY TCP4\rX 1.2.3.4", reason::bad_v1, 12);
    check_refused("PROXY UNKNOWN\r\r\n", reason::bad_v1, 15);
}

TEST_CASE("proxy v1: no CR LF within 107 bytes is too_long at the 107th byte") {
    std::string line = "PROXY UNKNOWN " + std::string(200, 'a');
    check_refused(line, reason::too_long, 107);
    // CR LF ending at byte 108: one too many, refused when the CR comes where the LF had to be
    check_refused("PROXY UNKNOWN " + std::string(92, 'a') + "\r\n", reason::too_long, 107);
    parse_header("PROXY UNKNOWN " + std::string(91, 'a') + "\r\n", 107);
}

TEST_CASE("proxy: the first byte that rules out both signatures refuses the connection (not_proxy)") {
    check_refused(ehlo, reason::not_proxy, 1);             // an SMTP client talking first
    check_refused(tls_hello, reason::not_proxy, 1);        // implicit TLS without a header
    check_refused("QUIT\r\n", reason::not_proxy, 1);
    check_refused("PING\r\n", reason::not_proxy, 2);
    check_refused("PROXZ TCP4", reason::not_proxy, 5);
    check_refused("proxy TCP4", reason::not_proxy, 1);
    check_refused("\r\n\r\n\x01"s, reason::not_proxy, 5);
    check_refused("\r\nEHLO x\r\n", reason::not_proxy, 3);
    check_refused("\r\n\r\n\0\r\nQUIX\n\x21"s, reason::not_proxy, 11);
    check_refused("\0"s, reason::not_proxy, 1);
    for (const auto& waiting : {""s, "P"s, "PROX"s, "PROXY"s, "\r"s, "\r\n\r\n\0\r\nQUIT"s}) {
        CAPTURE(waiting);
        CHECK(parse(waiting).result.state == status::need_more);
    }
}

TEST_CASE("proxy v2: PROXY over TCP4, then the client's SMTP") {
    auto h = parse_header(v2(v2_proxy, tcp4, inet_block) + ehlo, 28);
    CHECK(h.version == 2);
    CHECK(h.cmd == proxy::command::proxy);
    CHECK(addresses_of(h) == tcp4_addresses);
}

TEST_CASE("proxy v2: PROXY over TCP6, then a TLS ClientHello") {
    auto h = parse_header(v2(v2_proxy, tcp6, inet6_block) + tls_hello, 52);
    CHECK(addresses_of(h) == tcp6_addresses);
}

TEST_CASE("proxy v2: LOCAL has no address, whatever its block holds") {
    auto h = parse_header(v2(v2_local, 0x00, "") + ehlo, 16);
    CHECK(h.version == 2);
    CHECK(h.cmd == proxy::command::local);
    CHECK_FALSE(h.has_address());
    CHECK(addresses_of(h) == no_addresses);
    h = parse_header(v2(v2_local, tcp4, inet_block + "\x01\x02") + ehlo, 30);  // not even TLVs
    CHECK(h.cmd == proxy::command::local);
    CHECK(addresses_of(h) == no_addresses);
    h = parse_header(v2(v2_local, 0x12, "") + ehlo, 16);  // a LOCAL header's family is ignored, UDP too
    CHECK(h.cmd == proxy::command::local);
}

TEST_CASE("proxy v2: PROXY with an unspecified family or protocol, or a unix socket, leaves no address") {
    auto h = parse_header(v2(v2_proxy, 0x00, "anything") + ehlo, 24);
    CHECK(h.cmd == proxy::command::proxy);
    CHECK(addresses_of(h) == no_addresses);
    h = parse_header(v2(v2_proxy, 0x10, inet_block) + ehlo, 28);
    CHECK(addresses_of(h) == addresses{proxy::family::inet, "", "", 0, 0, ""});
    h = parse_header(v2(v2_proxy, 0x31, std::string(216, 'p') + tlv(0x02, "mx.example")) + ehlo, 245);
    CHECK(addresses_of(h) == addresses{proxy::family::unix_socket, "", "", 0, 0, ""});
    CHECK(h.authority == "mx.example");
}

TEST_CASE("proxy v2: TLVs after the addresses: authority, ALPN and SSL kept, others skipped") {
    std::string ssl = "\x07\x00\x00\x00\x00"s + tlv(0x21, "TLSv1.3") + tlv(0x22, "client.example") +
                      tlv(0x23, "TLS_AES_128_GCM_SHA256") + tlv(0x28, "\x30\x82\x01\x0a"s);
    std::string tlvs = tlv(0x04, "") + tlv(0x02, "mx.example") + tlv(0x01, "smtp") + tlv(0x05, "id-1") +
                       tlv(0x20, ssl) + tlv(0xe0, "\0\xff"s) + tlv(0x30, "ns");
    auto h = parse_header(v2(v2_proxy, tcp4, inet_block + tlvs) + ehlo, 28 + tlvs.size());
    CHECK(tlvs.size() == 107);
    CHECK(addresses_of(h) == tcp4_addresses);
    CHECK(h.authority == "mx.example");
    CHECK(h.alpn == "smtp");
    CHECK(h.ssl.present);
    CHECK(h.ssl.client == 0x07);
    CHECK(h.ssl.verify == 0);
    CHECK(h.ssl.version == "TLSv1.3");
    CHECK(h.ssl.common_name == "client.example");
    CHECK(h.ssl.cipher == "TLS_AES_128_GCM_SHA256");
    // a second SSL TLV replaces the first, sub-TLVs included
    auto first = tlv(0x20, "\x05\0\0\0\x01"s + tlv(0x21, "TLSv1.2"));
    h = parse_header(v2(v2_proxy, tcp6, inet6_block + first + tlv(0x20, "\x01\x00\x00\x00\x2a"s)), 78);
    CHECK(h.ssl.present);
    CHECK(h.ssl.client == 0x01);
    CHECK(h.ssl.verify == 42);
    CHECK(h.ssl.version == "");
}

TEST_CASE("proxy v2: a TLV's bytes outside printable ASCII are written as \\xHH") {
    auto h = parse_header(v2(v2_proxy, tcp4, inet_block + tlv(0x02, "a\x01 b\\\xc3\xa9\x7f"s)), 39);
    CHECK(h.authority == "a\\x01 b\\x5c\\xc3\\xa9\\x7f");
    auto longest = std::string(255, 'a');
    CHECK(parse_header(v2(v2_proxy, tcp4, inet_block + tlv(0x02, longest)), 286).authority == longest);
    check_refused(v2(v2_proxy, tcp4, inet_block + tlv(0x02, longest + "a")), reason::bad_v2, 287);
    auto long_cn = tlv(0x20, "\x01\0\0\0\0"s + tlv(0x22, longest + "a"));
    check_refused(v2(v2_proxy, tcp4, inet_block + long_cn), reason::bad_v2, 295);
}

TEST_CASE("proxy v2: a CRC32C TLV is verified over the whole header") {
    auto good = v2(v2_proxy, tcp4, inet_block + tlv(0x03, "\x53\xc2\x07\x7e"s));
    CHECK(parse_header(good + ehlo, 35).client() == "192.0.2.1:5678");
    check_refused(v2(v2_proxy, tcp4, inet_block + tlv(0x03, "\x53\xc2\x07\x7f"s)) + ehlo, reason::bad_v2, 35);
    auto flipped = good;
    flipped[16] = '\xc1';  // 193.0.2.1: the checksum no longer matches
    check_refused(flipped, reason::bad_v2, 35);
    check_refused(v2(v2_proxy, tcp4, inet_block + tlv(0x03, "\x53\xc2\x07"s)), reason::bad_v2, 34);
}

TEST_CASE("proxy v2: a malformed header is bad_v2, decided at the byte that breaks it") {
    check_refused(v2(0x11, tcp4, inet_block), reason::bad_v2, 13);  // version 1 in a v2 header
    check_refused(v2(0x31, tcp4, inet_block), reason::bad_v2, 13);
    check_refused(v2(0x22, tcp4, inet_block), reason::bad_v2, 13);  // command 2
    check_refused(v2(0x2f, tcp4, inet_block), reason::bad_v2, 13);
    check_refused(v2(v2_proxy, 0x41, inet_block), reason::bad_v2, 14);  // family 4
    check_refused(v2(v2_proxy, 0x13, inet_block), reason::bad_v2, 14);  // protocol 3
    check_refused(v2(v2_local, 0x13, ""), reason::bad_v2, 14);
    // an address block too short for its family: known from the length
    check_refused(v2(v2_proxy, tcp4, inet_block.substr(0, 11)), reason::bad_v2, 16);
    check_refused(v2(v2_proxy, tcp6, inet6_block.substr(0, 35)), reason::bad_v2, 16);
    check_refused(v2(v2_proxy, 0x31, std::string(215, 'p')), reason::bad_v2, 16);
    // TLVs that do not fit: a cut type and length, a value past the end, an SSL TLV shorter than its fixed part,
    // an SSL sub-TLV past its TLV's end
    check_refused(v2(v2_proxy, tcp4, inet_block + "\x02\x00"s), reason::bad_v2, 30);
    check_refused(v2(v2_proxy, tcp4, inet_block + tlv(0x02, "mx").substr(0, 4)) + ehlo, reason::bad_v2, 32);
    check_refused(v2(v2_proxy, tcp4, inet_block + tlv(0x20, "\x01\0\0\0"s)), reason::bad_v2, 35);
    check_refused(v2(v2_proxy, tcp4, inet_block + tlv(0x20, "\x01\0\0\0\0\x21\x00\x09TLS"s)), reason::bad_v2, 42);
}

TEST_CASE("proxy v2: a datagram connection is unsupported, decided at its family byte") {
    check_refused(v2(v2_proxy, 0x12, inet_block), reason::unsupported, 14);
    check_refused(v2(v2_proxy, 0x22, inet6_block), reason::unsupported, 14);
    check_refused(v2(v2_proxy, 0x32, std::string(216, 'p')), reason::unsupported, 14);
}

TEST_CASE("proxy v2: a header over 16384 bytes is too_long from its length field on") {
    std::string pad = tlv(0x04, std::string(16384 - 28 - 3, 'n'));
    auto longest = v2(v2_proxy, tcp4, inet_block + pad);
    CHECK(longest.size() == 16384);
    auto run = test::for_each_split(longest + ehlo, fuzz::feed_proxy, {{{1}, {1000}}, false});
    CHECK(run.result == proxy::result{status::done, reason::none, 16384});
    CHECK(run.header.client() == "192.0.2.1:5678");
    check_refused(v2(v2_proxy, tcp4, inet_block + pad + "n").substr(0, 40), reason::too_long, 16);
    check_refused(v2(v2_local, 0x00, std::string(65535, '\0')).substr(0, 40), reason::too_long, 16);
}

TEST_CASE("proxy: a decided parser answers the same until reset, and reads a new connection after it") {
    proxy::parser p;
    std::string in = "PROXY TCP4 192.0.2.1 198.51.100.7 5678 25\r\n" + ehlo;
    CHECK(p.feed(in) == proxy::result{status::done, reason::none, 43});
    CHECK(p.feed("EHLO") == proxy::result{status::done, reason::none, 43});
    CHECK(p.get().client() == "192.0.2.1:5678");
    p.reset();
    CHECK(p.get() == proxy::header{});
    CHECK(p.feed(ehlo) == proxy::result{status::error, reason::not_proxy, 0});
    CHECK(p.feed(in).why == reason::not_proxy);
    p.reset();
    auto local = v2(v2_local, 0x00, "");
    CHECK(p.feed(local.substr(0, 15)).state == status::need_more);
    CHECK(p.feed(local) == proxy::result{status::done, reason::none, 16});
    CHECK(p.get().cmd == proxy::command::local);
}

TEST_CASE("proxy: reasons have the names a metric label uses") {
    CHECK(proxy::to_string(reason::not_proxy) == "not_proxy");
    CHECK(proxy::to_string(reason::bad_v1) == "bad_v1");
    CHECK(proxy::to_string(reason::bad_v2) == "bad_v2");
    CHECK(proxy::to_string(reason::too_long) == "too_long");
    CHECK(proxy::to_string(reason::unsupported) == "unsupported");
}

TEST_CASE("proxy: every refusal reason has its own slot in the server's proxy_rejected counters") {
    for (auto r : {reason::not_proxy, reason::bad_v1, reason::bad_v2, reason::too_long, reason::unsupported}) {
        CAPTURE(proxy::to_string(r));
        CHECK(sink::proxy_rejections[sink::proxy_rejection_index(proxy::to_string(r))] == proxy::to_string(r));
    }
    for (auto own : {"untrusted", "timeout", "eof"})
        CHECK(sink::proxy_rejections[sink::proxy_rejection_index(own)] == own);
}
