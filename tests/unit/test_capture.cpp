// The capture ring's two bounds, ids and lookups; the connection sink's sampling and truncation;
// the API's JSON strings (escaping, invalid UTF-8); RFC 3339 times.
#include <doctest/doctest.h>

#include <boost/json/serialize.hpp>

#include "http/render.hpp"
#include "inspect/summary.hpp"
#include "sink/sink.hpp"
#include "sink_driver.hpp"

namespace {

using test::deliver;
using test::make_env;

std::shared_ptr<sink::captured_message> msg(std::string flow, std::size_t raw_size) {
    auto m = std::make_shared<sink::captured_message>();
    m->flow = std::move(flow);
    m->raw = sink::byte_buffer(std::string(raw_size, 'x'));
    m->size = raw_size;
    return m;
}

}  // namespace

TEST_CASE("capture ring: bounded by count, oldest first out, ids increase") {
    sink::capture_ring r(3, 1 << 20);
    for (int i = 0; i < 5; ++i) r.push(msg(i % 2 ? "f1" : "f0", 10));
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

TEST_CASE("capture ring: remove by ids drops those and keeps order, bytes and later ids") {
    sink::capture_ring r(10, 1000);
    for (int i = 0; i < 4; ++i) r.push(msg("a", std::size_t(10 + i)));  // ids 1..4, 10..13 bytes
    const std::uint64_t ids[] = {3, 1, 7, 3};
    CHECK(r.remove(ids) == 2);
    CHECK(r.count() == 2);
    CHECK(r.bytes() == 11 + 13);
    CHECK(r.evicted() == 0);
    CHECK(r.get(1) == nullptr);
    CHECK(r.get(3) == nullptr);
    auto all = r.list("", 10);
    REQUIRE(all.size() == 2);
    CHECK(all[0]->id == 4);
    CHECK(all[1]->id == 2);
    r.push(msg("a", 1));
    CHECK(r.list("", 1)[0]->id == 5);
    CHECK(r.remove({}) == 0);
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
    CHECK(inspect::summarize(h.ring, *a[0])->subject == "s1");  // decoded from the raw header when asked
    CHECK(inspect::summarize(h.ring, *a[1])->subject == "s0");
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
    boost::json::object o;
    o["s"] = http::utf8_text("a\"b\\c\n\x01\xc3\xa9\xff");
    o["n"] = std::uint64_t(42);
    o["a"] = boost::json::array{true, nullptr};
    o["t"] = http::time_value(1700000000123);
    o["z"] = http::time_value(0);
    CHECK(boost::json::serialize(o) == "{\"s\":\"a\\\"b\\\\c\\n\\u0001\xc3\xa9\xef\xbf\xbd\",\"n\":42,\"a\":[true,null],"
                                       "\"t\":\"2023-11-14T22:13:20.123Z\",\"z\":null}");
}

TEST_CASE("json: every byte that does not start valid UTF-8 becomes one U+FFFD") {
    auto fffd = [](int n, std::string_view rest = "") {  // n replacement characters, then `rest`
        std::string s;
        while (n-- > 0) s.append("\xef\xbf\xbd");
        return s.append(rest);
    };
    CHECK(http::utf8_text("\xc0\xaf") == fffd(2));                  // an overlong '/'
    CHECK(http::utf8_text("\xe0\x80\xaf") == fffd(3));              // overlong in three bytes
    CHECK(http::utf8_text("\xed\xa0\x80") == fffd(3));              // a surrogate
    CHECK(http::utf8_text("\xf4\x90\x80\x80") == fffd(4));          // past U+10FFFF
    CHECK(http::utf8_text("\xe2\x82" "A") == fffd(2, "A"));          // cut short
    CHECK(http::utf8_text("\xe2\x82") == fffd(2));                  // cut short by the end
    CHECK(http::utf8_text("\xf0\x9f\x98\x80 \xe2\x82\xac \x7f") == "\xf0\x9f\x98\x80 \xe2\x82\xac \x7f");
}

TEST_CASE("clock: RFC 3339 in UTC with milliseconds") {
    CHECK(sink::rfc3339_ms(0) == "1970-01-01T00:00:00.000Z");
    CHECK(sink::rfc3339_ms(951868799999) == "2000-02-29T23:59:59.999Z");
    CHECK(sink::rfc3339_ms(1700000000123) == "2023-11-14T22:13:20.123Z");
    CHECK(sink::rfc3339_ms(4102444799999) == "2099-12-31T23:59:59.999Z");
    auto now = sink::rfc3339_ms(sink::now_ms());
    CHECK(now.size() == 24);
    CHECK(now.starts_with("20"));
}
