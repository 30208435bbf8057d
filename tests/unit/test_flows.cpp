// Flow keys (each extractor, order, sanitising) and the flow table (exact counts under concurrency, the bound,
// resets, refusals by code).
#include <doctest/doctest.h>

#include <stdexcept>
#include <thread>

#include "sink/flow_key.hpp"
#include "sink/flow_table.hpp"
#include "sink/header.hpp"

namespace {

struct facts {
    smtp::envelope env;
    std::string helo = "client.test", header, auth;
    facts(std::string from, std::vector<std::string> rcpts, std::string hdr) : header(std::move(hdr)) {
        env.set_mail_from(from);
        for (const auto& r : rcpts) env.add_recipient({env.keep(r), {}, 0});
    }
    sink::message_facts view() const { return {&env, helo, header, auth}; }
};

std::string flow_of(const char* spec, const facts& f) {
    auto k = sink::flow_key::parse(spec);
    std::string out, scratch;
    k.name(f.view(), out, scratch);
    return out;
}

}  // namespace

TEST_CASE("flow key: each extractor") {
    facts f("Alice@Example.ORG", {"bob+invoice-42@Shop.Test", "carol+x@other.test"},
            "Subject: hi\r\nx-flow:   signup  \r\nX-Folded: part one\r\n\tpart two\r\n\r\n");
    CHECK(flow_of("header:X-Flow", f) == "signup");
    CHECK(flow_of("header:x-FLOW", f) == "signup");
    CHECK(flow_of("header:X-Folded", f) == "part_one_part_two");  // unfolded; spaces sanitised
    CHECK(flow_of("rcpt-tag", f) == "invoice-42");
    CHECK(flow_of("rcpt-domain", f) == "shop.test");
    CHECK(flow_of("mail-from", f) == "Alice@Example.ORG");
    CHECK(flow_of("mail-from-domain", f) == "example.org");
    CHECK(flow_of("helo", f) == "client.test");
    CHECK(flow_of("auth-user", f) == "_default");
    CHECK(flow_of("header:X-Missing,rcpt-tag", f) == "invoice-42");
    CHECK(flow_of("header:X-Missing", f) == "_default");
    CHECK(flow_of("none", f) == "_default");
}

TEST_CASE("flow key: default order, null sender, no tag") {
    facts f("", {"plain@x.test"}, "Subject: s\r\n\r\n");
    CHECK(flow_of("header:X-Flow,rcpt-tag", f) == "_default");
    CHECK(flow_of("mail-from,mail-from-domain,rcpt-domain", f) == "x.test");
    facts g("a@b", {}, "");
    CHECK(flow_of("rcpt-tag,rcpt-domain", g) == "_default");
}

TEST_CASE("flow key: names are sanitised and capped") {
    facts f("a@b", {"x@y"}, "X-Flow: caf\xc3\xa9 \"q\"\\x\r\n\r\n");
    CHECK(flow_of("header:X-Flow", f) == "caf____q__x");
    facts g("a@b", {"x@y"}, "X-Flow: " + std::string(300, 'z') + "\r\n\r\n");
    CHECK(flow_of("header:X-Flow", g) == std::string(sink::max_flow_name, 'z'));
}

TEST_CASE("flow key: bad specs are refused with a reason") {
    CHECK_THROWS_AS(sink::flow_key::parse("header:"), std::invalid_argument);
    CHECK_THROWS_AS(sink::flow_key::parse("rcpt-tags"), std::invalid_argument);
    CHECK_THROWS_AS(sink::flow_key::parse(""), std::invalid_argument);
    CHECK(sink::flow_key::parse("header:X-Flow").uses_header());
    CHECK_FALSE(sink::flow_key::parse("rcpt-tag,helo").uses_header());
}

TEST_CASE("header_value: first occurrence, case-insensitive, bare LF lines, no value") {
    std::string scratch;
    CHECK(sink::header_value("A: 1\r\nB: 2\r\nb: 3\r\n\r\n", "B", scratch) == "2");
    CHECK(sink::header_value("A: 1\nB:  two\n words\n\n", "b", scratch) == "two words");
    CHECK(sink::header_value("A: 1\r\n\r\n", "B", scratch).empty());
    CHECK(sink::header_value("Ab: 1\r\n", "A", scratch).empty());
}

TEST_CASE("flow table: exact counts from several threads") {
    constexpr std::size_t threads = 4, per_thread = 20000, flows = 7;
    sink::flow_table t(100, threads);
    std::vector<std::thread> ts;
    for (std::size_t i = 0; i < threads; ++i)
        ts.emplace_back([&, i] {
            auto& l = t.for_thread(i);
            for (std::size_t n = 0; n < per_thread; ++n) {
                l.count_message("flow-" + std::to_string(n % flows), 2, 100, 1000 + std::int64_t(n));
            }
        });
    for (auto& th : ts) th.join();
    auto list = t.list();
    REQUIRE(list.size() == flows);
    std::uint64_t total = 0;
    for (const auto& f : list) {
        std::size_t k = std::stoul(f.name.substr(5));
        std::uint64_t expect = threads * (per_thread / flows + (k < per_thread % flows ? 1 : 0));
        CHECK(f.messages == expect);
        CHECK(f.recipients == 2 * expect);
        CHECK(f.bytes == 100 * expect);
        CHECK(f.first_seen_ms >= 1000);
        CHECK(f.last_seen_ms <= 1000 + std::int64_t(per_thread));
        total += f.messages;
    }
    CHECK(total == threads * per_thread);
    CHECK(t.tracked() == flows);
}

TEST_CASE("flow table: the bound sends new names to _overflow, and a reset of all forgets names") {
    std::vector<std::string> warned;
    sink::flow_table t(2, 1);
    t.set_full_warning([&](std::size_t n) { warned.push_back(std::to_string(n)); });
    auto& l = t.for_thread(0);
    l.count_message("a", 1, 1, 1);
    l.count_message("b", 1, 1, 1);
    l.count_message("c", 1, 1, 1);
    l.count_message("d", 1, 1, 1);
    l.count_message("a", 1, 1, 1);
    l.count_message("_default", 1, 1, 1);
    CHECK(t.tracked() == 2);
    CHECK(t.get("a").messages == 2);
    CHECK(t.get("c").seen == false);
    CHECK(t.get("_overflow").messages == 2);
    CHECK(t.overflow_messages() == 2);
    CHECK(t.overflow_total() == 2);
    CHECK(t.get("_default").messages == 1);
    CHECK(warned == std::vector<std::string>{"2"});
    t.reset_all();
    CHECK(t.list().empty());
    CHECK(t.tracked() == 0);
    l.count_message("c", 1, 5, 9);
    CHECK(t.get("c").messages == 1);
    CHECK(t.get("c").bytes == 5);
    CHECK(t.get("a").seen == false);
    CHECK(t.overflow_total() == 2);  // the metric never goes back
}

TEST_CASE("flow table: resetting one flow, and refusals by code") {
    sink::flow_table t(10, 2);
    auto& a = t.for_thread(0);
    auto& b = t.for_thread(1);
    a.count_message("x", 1, 10, 5);
    b.count_message("x", 3, 20, 7);
    b.count_refusal("x", 552, 8);
    a.count_refusal("x", 552, 9);
    a.count_refusal("x", 452, 9);
    a.count_message("y", 1, 1, 5);
    auto x = t.get("x");
    CHECK(x.messages == 2);
    CHECK(x.recipients == 4);
    CHECK(x.bytes == 30);
    CHECK(x.refused == 3);
    CHECK(x.refused_by_code == std::map<unsigned short, std::uint64_t>{{452, 1}, {552, 2}});
    CHECK(x.first_seen_ms == 5);
    CHECK(x.last_seen_ms == 9);
    CHECK(t.reset("x"));
    CHECK_FALSE(t.reset("nope"));
    x = t.get("x");
    CHECK_FALSE(x.seen);
    CHECK(x.messages == 0);
    CHECK(x.refused_by_code.empty());
    CHECK(t.get("y").messages == 1);
    b.count_message("x", 1, 1, 50);
    x = t.get("x");
    CHECK(x.messages == 1);
    CHECK(x.first_seen_ms == 50);
    CHECK(t.list().size() == 2);
}

TEST_CASE("header_fields: every field in order, unfolded, up to the empty line") {
    auto f = sink::header_fields("Subject: a\r\n b\r\nX-Empty:\r\nTo:  x@y \r\n\r\nNot: a header\r\n");
    REQUIRE(f.size() == 3);
    CHECK(f[0].name == "Subject");
    CHECK(f[0].value == "a b");
    CHECK(f[1].name == "X-Empty");
    CHECK(f[1].value.empty());
    CHECK(f[2].value == "x@y");
}
