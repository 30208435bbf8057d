// The client-side reply parser (smtp/client_reply): every input is parsed whole, byte by byte and split at
// every offset, and all runs must agree.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "harness.hpp"
#include "smtp/client_reply.hpp"

namespace {

struct seen {
    unsigned short code;
    std::size_t lines;
    std::string enhanced, text, raw;
    bool operator==(const seen&) const = default;
};

struct parse_run {
    std::vector<seen> replies;
    bool malformed = false;
    std::string left;  // bytes not consumed at the end
    bool operator==(const parse_run&) const = default;
};

// Feeds the pieces as a client would: unconsumed bytes are kept and passed again with the next piece.
parse_run run_pieces(const split::pieces& pieces) {
    smtp::client_reply_parser p;
    parse_run out;
    std::string pending;
    for (const auto& piece : pieces) {
        pending += piece;
        for (;;) {
            auto r = p.parse(pending);
            if (r.status == smtp::reply_status::malformed) {
                out.malformed = true;
                return out;
            }
            if (r.status == smtp::reply_status::incomplete) break;
            REQUIRE(r.consumed > 0);
            out.replies.push_back({r.code, r.lines, std::string(r.enhanced), std::string(r.text), std::string(r.raw)});
            pending.erase(0, r.consumed);
        }
    }
    out.left = pending;
    return out;
}

// Parses `input` whole, byte by byte and split in two at every offset (or as `how` says); all runs must agree.
parse_run for_each_split(const std::string& input, const split::ways& how = {}) {
    CAPTURE(input);
    return test::for_each_split(input, run_pieces, how);
}

}  // namespace

TEST_CASE("client reply: one line with an enhanced code") {
    auto r = for_each_split("250 2.1.0 Sender ok\r\n");
    REQUIRE(r.replies.size() == 1);
    CHECK(r.replies[0] == seen{250, 1, "2.1.0", "Sender ok", "250 2.1.0 Sender ok\r\n"});
    CHECK(r.left.empty());
    CHECK_FALSE(r.malformed);
}

TEST_CASE("client reply: a multi-line EHLO reply, then pipelined replies") {
    std::string ehlo = "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250-CHUNKING\r\n250 AUTH PLAIN LOGIN\r\n";
    auto r = for_each_split(ehlo + "250 2.1.0 Sender ok\r\n250 2.1.5 Recipient ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n");
    REQUIRE(r.replies.size() == 4);
    CHECK(r.replies[0].code == 250);
    CHECK(r.replies[0].lines == 5);
    CHECK(r.replies[0].raw == ehlo);
    CHECK(r.replies[0].text == "AUTH PLAIN LOGIN");
    CHECK(r.replies[0].enhanced.empty());
    CHECK(smtp::ehlo_has(r.replies[0].raw, "PIPELINING"));
    CHECK(smtp::ehlo_has(r.replies[0].raw, "chunking"));
    CHECK(smtp::ehlo_has(r.replies[0].raw, "SIZE"));
    CHECK(smtp::ehlo_has(r.replies[0].raw, "AUTH"));
    CHECK_FALSE(smtp::ehlo_has(r.replies[0].raw, "STARTTLS"));
    CHECK_FALSE(smtp::ehlo_has(r.replies[0].raw, "mx.test"));  // the first line is not an extension
    CHECK_FALSE(smtp::ehlo_has(r.replies[0].raw, "PIPE"));
    CHECK(r.replies[1] == seen{250, 1, "2.1.0", "Sender ok", "250 2.1.0 Sender ok\r\n"});
    CHECK(r.replies[2].enhanced == "2.1.5");
    CHECK(r.replies[3] == seen{354, 1, "", "End data with <CR><LF>.<CR><LF>", "354 End data with <CR><LF>.<CR><LF>\r\n"});
}

TEST_CASE("client reply: a code alone, bare LF, and no enhanced code") {
    auto r = for_each_split("250\r\n220 mx ESMTP\n221 2.0.0\r\n");
    REQUIRE(r.replies.size() == 3);
    CHECK(r.replies[0] == seen{250, 1, "", "", "250\r\n"});
    CHECK(r.replies[1] == seen{220, 1, "", "mx ESMTP", "220 mx ESMTP\n"});
    CHECK(r.replies[2] == seen{221, 1, "2.0.0", "", "221 2.0.0\r\n"});
}

TEST_CASE("client reply: enhanced codes are recognised only when well formed and of the reply's class") {
    auto r = for_each_split("550 5.1.1 No such user\r\n250 5.1.1 odd\r\n452 4.5.3x Too many\r\n"
                            "552 5.3.4 Message size exceeds fixed limit\r\n421 4.4.2\r\n");
    REQUIRE(r.replies.size() == 5);
    CHECK(r.replies[0].enhanced == "5.1.1");
    CHECK(r.replies[0].text == "No such user");
    CHECK(r.replies[1].enhanced.empty());
    CHECK(r.replies[1].text == "5.1.1 odd");
    CHECK(r.replies[2].enhanced.empty());
    CHECK(r.replies[3].code == 552);
    CHECK(r.replies[3].enhanced == "5.3.4");
    CHECK(r.replies[4].enhanced == "4.4.2");
}

TEST_CASE("client reply: an incomplete reply consumes nothing") {
    auto r = for_each_split("250-mx.test\r\n250-PIPELINING\r\n250 SIZ");
    CHECK(r.replies.empty());
    CHECK_FALSE(r.malformed);
    CHECK(r.left == "250-mx.test\r\n250-PIPELINING\r\n250 SIZ");
}

TEST_CASE("client reply: malformed input") {
    for (std::string bad : {"25x ok\r\n", "250-a\r\n251 b\r\n", "600 nope\r\n", "250_x\r\n", "hello\r\n", "\r\n",
                            "199 x\r\n"}) {
        CAPTURE(bad);
        auto r = for_each_split(bad);
        CHECK(r.malformed);
        CHECK(r.replies.empty());
    }
    // A good reply before the bad line is still delivered.
    auto r = for_each_split("250 ok\r\nxyz\r\n");
    CHECK(r.malformed);
    CHECK(r.replies.size() == 1);
}

TEST_CASE("client reply: line and reply length limits") {
    std::string long_line = "250 " + std::string(smtp::limits::client_reply_line, 'x') + "\r\n";
    CHECK(for_each_split(long_line).malformed);
    std::string endless(smtp::limits::client_reply_line + 10, 'x');
    CHECK(for_each_split("250 " + endless).malformed);  // no newline yet, but already too long
    std::string many;
    while (many.size() <= smtp::limits::client_reply_total) many += "250-" + std::string(100, 'y') + "\r\n";
    CHECK(for_each_split(many + "250 end\r\n", {{{1}}, false}).malformed);  // every offset: 4 * 10^9 bytes
    // Just under the line limit is fine.
    std::string ok = "250 " + std::string(smtp::limits::client_reply_line - 6, 'z') + "\r\n";
    auto fine = for_each_split(ok);
    CHECK_FALSE(fine.malformed);
    CHECK(fine.replies.size() == 1);
}

TEST_CASE("client reply: long replies fed in small pieces stay linear and exact") {
    std::string ehlo = "250-host\r\n";
    for (int i = 0; i < 200; ++i) ehlo += "250-X-EXT" + std::to_string(i) + " some parameters\r\n";
    ehlo += "250 DSN\r\n";
    auto r = for_each_split(ehlo, {{{1}, {7}}});
    REQUIRE(r.replies.size() == 1);
    CHECK(r.replies[0].lines == 202);
    CHECK(r.replies[0].raw == ehlo);
    CHECK(smtp::ehlo_has(r.replies[0].raw, "X-EXT199"));
    CHECK(smtp::ehlo_has(r.replies[0].raw, "dsn"));
}

TEST_CASE("client reply: enhanced_code_prefix") {
    CHECK(smtp::enhanced_code_prefix("2.0.0 Ok", 250) == "2.0.0");
    CHECK(smtp::enhanced_code_prefix("2.0.0", 250) == "2.0.0");
    CHECK(smtp::enhanced_code_prefix("5.7.11 x", 538) == "5.7.11");
    CHECK(smtp::enhanced_code_prefix("5.7.1111 x", 538).empty());
    CHECK(smtp::enhanced_code_prefix("2.0 x", 250).empty());
    CHECK(smtp::enhanced_code_prefix("4.0.0 x", 250).empty());
    CHECK(smtp::enhanced_code_prefix("", 250).empty());
}
