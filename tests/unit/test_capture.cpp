// The capture ring's two bounds, ids and lookups; the connection sink's sampling and truncation;
// the JSON writer's escaping.
#include <doctest/doctest.h>

#include "http/json.hpp"
#include "sink/sink.hpp"

namespace {

std::shared_ptr<sink::captured_message> msg(std::string flow, std::size_t raw_size) {
    auto m = std::make_shared<sink::captured_message>();
    m->flow = std::move(flow);
    m->raw.assign(raw_size, 'x');
    m->size = raw_size;
    return m;
}

// Feeds one message through a connection sink as the session would.
void deliver(sink::connection_sink& s, smtp::envelope& env, const std::string& header, const std::string& body) {
    if (s.on_header(env, header, false)) s.on_body(body);
    smtp::message_info m;
    m.env = &env;
    m.header_section = header;
    m.size = header.size() + body.size();
    s.on_message(m);
}

smtp::envelope make_env() {
    smtp::envelope env;
    env.set_mail_from("app@example.org");
    env.add_recipient({env.keep("user@example.net"), {}, 0});
    return env;
}

}  // namespace

TEST_CASE("capture ring: bounded by count, oldest first out, ids increase") {
    sink::capture_ring r(3, 1 << 20);
    for (int i = 0; i < 5; ++i) r.push(msg("f" + std::to_string(i % 2), 10));
    CHECK(r.count() == 3);
    CHECK(r.bytes() == 30);
    CHECK(r.evicted() == 2);
    auto all = r.list("", 10);
    REQUIRE(all.size() == 3);
    CHECK(all[0]->id == 5);
    CHECK(all[2]->id == 3);
    CHECK(r.get(2) == nullptr);
    REQUIRE(r.get(4) != nullptr);
    CHECK(r.get(4)->flow == "f1");
    auto f0 = r.list("f0", 10);
    REQUIRE(f0.size() == 2);
    CHECK(f0[0]->id == 5);
    CHECK(f0[1]->id == 3);
    CHECK(r.list("", 1).size() == 1);
}

TEST_CASE("capture ring: bounded by bytes; a message larger than the ring is not kept") {
    sink::capture_ring r(100, 25);
    r.push(msg("a", 10));
    r.push(msg("a", 10));
    r.push(msg("a", 10));
    CHECK(r.count() == 2);
    CHECK(r.bytes() == 20);
    CHECK(r.evicted() == 1);
    r.push(msg("a", 26));
    CHECK(r.count() == 2);
    CHECK(r.evicted() == 2);
    CHECK(r.clear() == 2);
    CHECK(r.count() == 0);
    CHECK(r.bytes() == 0);
}

TEST_CASE("capture ring: first-per-flow places, restarted by clear") {
    sink::capture_ring r(10, 1000);
    CHECK(r.take_first_place("a", 2));
    CHECK(r.take_first_place("a", 2));
    CHECK_FALSE(r.take_first_place("a", 2));
    CHECK(r.take_first_place("b", 2));
    auto e = r.quota_epoch();
    r.clear();
    CHECK(r.quota_epoch() != e);
    CHECK(r.take_first_place("a", 2));
}

TEST_CASE("connection sink: the first N per flow are kept when the rate is 0, none when N is 0") {
    sink::options o;
    o.sample_rate = 0;
    o.sample_first_per_flow = 2;
    sink::hub h(o, 1);
    sink::connection_sink s(h, 0, "127.0.0.1:9");
    auto env = make_env();
    for (int i = 0; i < 5; ++i) deliver(s, env, "X-Flow: a\r\nSubject: s" + std::to_string(i) + "\r\n\r\n", "body\r\n");
    for (int i = 0; i < 3; ++i) deliver(s, env, "X-Flow: b\r\n\r\n", "b\r\n");
    auto a = h.ring.list("a", 10);
    REQUIRE(a.size() == 2);
    CHECK(a[0]->subject == "s1");
    CHECK(a[1]->subject == "s0");
    CHECK(a[1]->raw == "X-Flow: a\r\nSubject: s0\r\n\r\nbody\r\n");
    CHECK(a[1]->client == "127.0.0.1:9");
    CHECK(a[1]->rcpt_to == std::vector<std::string>{"user@example.net"});
    CHECK(h.ring.list("b", 10).size() == 2);
    CHECK(h.flows.get("a").messages == 5);

    sink::options none = o;
    none.sample_first_per_flow = 0;
    sink::hub h2(none, 1);
    CHECK_FALSE(h2.capturing());
    sink::connection_sink s2(h2, 0, "c");
    deliver(s2, env, "X-Flow: a\r\n\r\n", "x\r\n");
    CHECK(h2.ring.count() == 0);
    CHECK(h2.flows.get("a").messages == 1);
}

TEST_CASE("connection sink: a large message keeps its header and a cut body, marked truncated") {
    sink::options o;
    o.capture_max_message = 40;
    sink::hub h(o, 1);
    sink::connection_sink s(h, 0, "c");
    auto env = make_env();
    std::string header = "Subject: big\r\n\r\n";  // 16 bytes
    deliver(s, env, header, std::string(100, 'b'));
    auto m = h.ring.list("", 1);
    REQUIRE(m.size() == 1);
    CHECK(m[0]->truncated);
    CHECK(m[0]->raw == header + std::string(24, 'b'));
    CHECK(m[0]->size == 116);
    std::string long_header = "Subject: " + std::string(60, 'h') + "\r\n\r\n";
    deliver(s, env, long_header, "tail\r\n");
    m = h.ring.list("", 1);
    CHECK(m[0]->raw == long_header);  // the header is kept whole even past the limit
    CHECK(m[0]->truncated);
}

TEST_CASE("connection sink: refusals are counted against the flow by code") {
    sink::hub h(sink::options{}, 1);
    sink::connection_sink s(h, 0, "c");
    auto env = make_env();
    s.on_refusal(env, "X-Flow: big\r\n\r\n", 552);
    s.on_refusal(env, "", 452);
    CHECK(h.flows.get("big").refused_by_code == std::map<unsigned short, std::uint64_t>{{552, 1}});
    CHECK(h.flows.get("_default").refused == 1);
    CHECK(h.ring.count() == 0);
}

TEST_CASE("json: escaping, invalid UTF-8, nesting, times") {
    http::json::writer w;
    w.begin_object()
        .key("s").value("a\"b\\c\n\x01\xc3\xa9\xff")
        .key("n").value(std::uint64_t(42))
        .key("a").begin_array().value(true).null().end_array()
        .key("t").time_ms(1700000000123)
        .key("z").time_ms(0)
        .end_object();
    CHECK(w.str() == "{\"s\":\"a\\\"b\\\\c\\n\\u0001\xc3\xa9\xef\xbf\xbd\",\"n\":42,\"a\":[true,null],"
                     "\"t\":\"2023-11-14T22:13:20.123Z\",\"z\":null}");
}
