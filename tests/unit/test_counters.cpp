// Per-thread counters summed exactly, also while other threads write.
#include <doctest/doctest.h>

#include <thread>

#include "sink/counters.hpp"
#include "sink/sink.hpp"

TEST_CASE("counter_set sums every thread's counts exactly under concurrency") {
    constexpr std::size_t threads = 4, per_thread = 100000;
    sink::counter_set set(threads);
    std::vector<std::thread> ts;
    for (std::size_t t = 0; t < threads; ++t)
        ts.emplace_back([&, t] {
            auto& c = set.for_thread(t);
            for (std::size_t i = 0; i < per_thread; ++i) {
                c.transactions.add();
                c.bytes.add(3);
                c.replies[250].add();
            }
            c.replies[552].add(t + 1);
        });
    for (auto& t : ts) t.join();
    auto sum = set.sum();
    CHECK(sum.transactions == threads * per_thread);
    CHECK(sum.bytes == 3 * threads * per_thread);
    CHECK(sum.replies[250] == threads * per_thread);
    CHECK(sum.replies[552] == 1 + 2 + 3 + 4);
    CHECK(sum.refused() == 10);
}

TEST_CASE("connection_sink counts messages, recipients, bytes, suspects and replies") {
    sink::options o;
    o.sample_rate = 0;
    o.sample_first_per_flow = 0;
    sink::hub h(o, 1);
    auto& set = h.counters;
    sink::connection_sink s(h, 0, "127.0.0.1:1");
    smtp::envelope env;
    env.add_recipient({env.keep("a@x"), {}, 0});
    env.add_recipient({env.keep("b@x"), {}, 0});
    smtp::message_info m;
    m.env = &env;
    CHECK_FALSE(s.on_header(env, "X-Flow: f\r\n\r\n", false));  // nothing is sampled
    m.size = 42;
    m.smuggling_suspect = true;
    s.on_message(m);
    s.on_reply(250);
    s.on_reply(452);
    s.on_reply(999);  // out of range: ignored, not a crash
    auto t = set.sum();
    CHECK(t.transactions == 1);
    CHECK(t.recipients == 2);
    CHECK(t.bytes == 42);
    CHECK(t.smuggling_suspects == 1);
    CHECK(t.replies[250] == 1);
    CHECK(t.replies[452] == 1);
    CHECK(t.refused() == 1);
    CHECK(h.flows.get("f").messages == 1);
    CHECK(h.flows.get("f").recipients == 2);
    CHECK(h.ring.count() == 0);
}
