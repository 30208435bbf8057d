// What captures hold while messages are received: bounded by --capture-bytes however many arrive at once,
// and given back when a transaction ends whatever its outcome (issue 9, defects 3 and 4).
#include <doctest/doctest.h>

#include <array>
#include <memory>
#include <vector>

#include "for_each_split.hpp"
#include "harness.hpp"
#include "sink/sink.hpp"
#include "sink_driver.hpp"

namespace {

sink::options small_budget() {
    sink::options o;
    o.capture_bytes = 100 * 1024;
    o.capture_max_message = 1 << 20;
    return o;
}

}  // namespace

TEST_CASE("messages being captured at once hold at most --capture-bytes; past it they are cut, marked truncated") {
    sink::hub h(small_budget(), 1);
    auto env = test::make_env();
    const std::string header = "X-Flow: big\r\n\r\n";
    const std::string chunk(10 * 1024, 'b');
    std::vector<std::unique_ptr<sink::connection_sink>> conns;
    for (int i = 0; i < 10; ++i) {
        conns.push_back(std::make_unique<sink::connection_sink>(h, 0, "c"));
        REQUIRE(conns.back()->on_header(env, header, false));
    }
    for (int round = 0; round < 5; ++round)  // 10 messages x 50 KiB in flight: 500 KiB asked for
        for (auto& c : conns) {
            c->on_body(chunk);
            CHECK(h.ring.in_flight() <= 100 * 1024);
        }
    CHECK(h.ring.in_flight() > 90 * 1024);  // the budget is used, not left idle
    CHECK(h.ring.cut() > 0);
    for (auto& c : conns) test::finish(*c, env, header, 5 * chunk.size());
    CHECK(h.ring.in_flight() == 0);
    CHECK(h.flows.get("big").messages == 10);  // counting never depends on capturing
    std::uint64_t kept = 0;
    std::size_t truncated = 0;
    for (const auto& m : h.ring.list("", 100)) {
        kept += m->raw.size();
        truncated += m->truncated;
        CHECK(m->size == header.size() + 5 * chunk.size());
        CHECK(m->raw.capacity() == m->raw.size());  // the unused room went back
    }
    CHECK(kept <= 100 * 1024);
    CHECK(truncated >= 5);
}

// A body that comes in big pieces (reads of a client that sent no SIZE) makes room for one more piece like the
// last when it grows, so a 100 KiB body read 64 KiB at a time is moved once, while small, not once per doubling.
TEST_CASE("a capture grows by room for the next piece as large as the last, then shrinks to the message") {
    sink::hub h(sink::options{}, 1);
    sink::connection_sink s(h, 0, "c");
    auto env = test::make_env();
    const std::string header = "X-Flow: big\r\n\r\n";  // 15 octets
    REQUIRE(s.on_header(env, header, false));
    CHECK(h.ring.in_flight() == 15 + 8 * 1024);  // the header section and the first body room
    s.on_body(std::string(4000, 'a'));
    CHECK(h.ring.in_flight() == 15 + 8 * 1024);  // it fits
    s.on_body(std::string(64 * 1024, 'b'));
    CHECK(h.ring.in_flight() == 15 + 4000 + 2 * 64 * 1024);  // what it holds, this piece and one more like it
    s.on_body(std::string(36 * 1024, 'c'));
    CHECK(h.ring.in_flight() == 15 + 4000 + 2 * 64 * 1024);  // it fits: no move
    s.on_body(std::string(40 * 1024, 'd'));  // past the room: doubling is larger than two such pieces
    CHECK(h.ring.in_flight() == 2 * (15 + 4000 + 2 * 64 * 1024));
    s.on_body(std::string(1000, 'e'));
    const std::size_t body = 4000 + (64 + 36 + 40) * 1024 + 1000;
    test::finish(s, env, header, body);
    CHECK(h.ring.in_flight() == 0);
    auto kept = h.ring.list("", 1);
    REQUIRE(kept.size() == 1);
    CHECK(kept[0]->raw.size() == 15 + body);
    CHECK(kept[0]->raw.capacity() == 15 + body);  // the room left over went back
    CHECK(kept[0]->raw.view().substr(15 + 4000 + 64 * 1024, 2) == "cc");
    CHECK(h.ring.bytes() >= 15 + body);
}

TEST_CASE("a capture that cannot get even its header is not sampled, and the message is still counted") {
    auto o = small_budget();
    o.capture_bytes = 64;
    sink::hub h(o, 1);
    sink::connection_sink s(h, 0, "c");
    auto env = test::make_env();
    test::deliver(s, env, "X-Flow: f\r\nSubject: " + std::string(100, 's') + "\r\n\r\n", "body\r\n");
    CHECK(h.ring.count() == 0);
    CHECK(h.ring.cut() == 1);
    CHECK(h.ring.in_flight() == 0);
    CHECK(h.flows.get("f").messages == 1);
}

// The session's end of a transaction reaches the sink, whatever ended it, and the capture is freed at once;
// however the reads cut the client's bytes up to the ending (for_each_split).
TEST_CASE("a sampled BDAT chunk's capture is freed by RSET, EHLO, HELO, STARTTLS and the end of the input") {
    auto p = test::make_profile([](smtp::options& o) { o.max_message_size = 1 << 20; });
    const std::string start = "EHLO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nBDAT 30\r\nX-Flow: f\r\n\r\n" +
                              std::string(17, 'x');
    struct ending {
        const char* name;
        std::string input;
        bool tls = false, eof = false;
    };
    // What the sink holds after the chunk, and after the ending: in flight, in the ring, counted.
    using outcome = std::array<std::uint64_t, 4>;
    for (const auto& e : {ending{"RSET", "RSET\r\n"}, ending{"EHLO", "EHLO again\r\n"}, ending{"HELO", "HELO again\r\n"},
                          ending{"STARTTLS", "STARTTLS\r\n", true}, ending{"end of input", "", false, true}}) {
        std::string name = e.name;
        CAPTURE(name);
        auto run = [&](const split::pieces& pieces) {
            sink::hub h(sink::options{}, 1);
            sink::connection_sink obs(h, 0, "c");
            smtp::session s(p, obs, 1);
            s.open();
            std::string pending;
            for (auto piece : pieces) {
                pending.append(piece);
                pending.erase(0, s.feed(pending).consumed);
            }
            outcome o{h.ring.in_flight(), 0, 0, 0};
            CHECK(s.feed(e.input).consumed == e.input.size());
            if (e.tls) s.tls_established("TLSv1.3 TEST");
            if (e.eof) s.feed_eof();
            o[1] = h.ring.in_flight();
            o[2] = h.ring.count();
            o[3] = h.flows.get("f").messages;
            return o;
        };
        auto agree = [](const outcome& a, const outcome& b, const std::string& how) {
            CHECK_MESSAGE(a == b, how);
            return a == b;
        };
        auto o = split::for_each_split(start, run, agree);
        CHECK(o[0] == 13 + 8 * 1024);  // the chunk's header section (13 octets) and the first body room
        CHECK(o[1] == 0);
        CHECK(o[2] == 0);
        CHECK(o[3] == 0);
    }
}
