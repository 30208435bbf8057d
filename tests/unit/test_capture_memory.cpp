// What captures hold while messages are received: bounded by --capture-bytes however many arrive at once,
// and given back when a transaction ends whatever its outcome (issue 9, defects 3 and 4).
#include <doctest/doctest.h>

#include <memory>
#include <vector>

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

// The session's end of a transaction reaches the sink, whatever ended it, and the capture is freed at once.
TEST_CASE("a sampled BDAT chunk's capture is freed by RSET, EHLO, HELO, STARTTLS and the end of the input") {
    auto p = test::make_profile([](smtp::options& o) { o.max_message_size = 1 << 20; });
    const std::string start = "EHLO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nBDAT 30\r\nX-Flow: f\r\n\r\n" +
                              std::string(17, 'x');
    struct ending {
        const char* name;
        std::string input;
        bool tls = false, eof = false;
    };
    for (const auto& e : {ending{"RSET", "RSET\r\n"}, ending{"EHLO", "EHLO again\r\n"}, ending{"HELO", "HELO again\r\n"},
                          ending{"STARTTLS", "STARTTLS\r\n", true}, ending{"end of input", "", false, true}}) {
        CAPTURE(e.name);
        sink::hub h(sink::options{}, 1);
        sink::connection_sink obs(h, 0, "c");
        smtp::session s(p, obs, 1);
        s.open();
        s.feed(start);
        CHECK(h.ring.in_flight() > 0);
        auto r = s.feed(e.input);
        CHECK(r.consumed == e.input.size());
        if (e.tls) s.tls_established("TLSv1.3 TEST");
        if (e.eof) s.feed_eof();
        CHECK(h.ring.in_flight() == 0);
        CHECK(h.ring.count() == 0);
        CHECK(h.flows.get("f").messages == 0);
    }
}
