// Summaries kept with captured messages (parsed once, gone with the message) and the search over the capture
// ring: filters with AND, case folding, newest first, limit and `before` paging across the search's pages.
#include <doctest/doctest.h>

#include "inspect/search.hpp"
#include "inspect/summary.hpp"
#include "sink/capture.hpp"

namespace {

using ids = std::vector<std::uint64_t>;

std::shared_ptr<sink::captured_message> message(std::string flow, std::string mail_from, std::string rcpt,
                                                std::string raw) {
    auto m = std::make_shared<sink::captured_message>();
    m->flow = std::move(flow);
    m->mail_from = std::move(mail_from);
    m->rcpt_to = {std::move(rcpt)};
    m->raw = sink::byte_buffer(raw);
    m->size = raw.size();
    return m;
}

ids found(sink::capture_ring& r, inspect::query q) {
    ids out;
    for (const auto& h : inspect::search(r, q)) out.push_back(h.message->id);
    return out;
}

// A ring of `n` messages: even ids in flow "even", every third with a To of carol, subjects "Nachricht Nr. i".
sink::capture_ring& numbered(sink::capture_ring& r, int n) {
    for (int i = 1; i <= n; ++i) {
        std::string raw = "From: Sender " + std::to_string(i) + " <s" + std::to_string(i) + "@example.org>\r\n" +
                          (i % 3 == 0 ? "To: Carol <carol@example.net>\r\n" : "") +
                          "Subject: =?utf-8?q?Stra=C3=9Fe_Nr=2E_" + std::to_string(i) + "?=\r\n\r\nbody " +
                          std::to_string(i) + "\r\n";
        r.push(message(i % 2 ? "odd" : "even", "env" + std::to_string(i) + "@sender.test", "r@rcpt.test", raw));
    }
    return r;
}

}  // namespace

TEST_CASE("summary: decoded, computed once, kept with the message, counted in the ring's bytes") {
    const std::string raw = "From: =?utf-8?q?J=C3=BCrgen?= <j@example.org>\r\n"
                            "Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n\r\nHello\r\n";
    sink::capture_ring r(10, 1 << 20);
    auto m = message("f", "Bounce@Sender.test", "R@x", raw);
    r.push(m);
    auto s = inspect::summarize(r, *m);
    CHECK(s->subject == "Grüße");
    REQUIRE(s->from);
    CHECK(*s->from == inspect::address{"Jürgen", "j@example.org"});
    CHECK(s->subject_key == "grüsse");
    CHECK(s->sender_keys == std::vector<std::string>{"bounce@sender.test", "j@example.org"});
    CHECK(s->recipient_keys == std::vector<std::string>{"r@x"});
    CHECK(s->other_keys == std::vector<std::string>{"jürgen", "hello\n"});
    CHECK(inspect::summarize(r, *m) == s);  // the same object: not parsed again
    CHECK(s->bytes() > sizeof(inspect::summary));
    CHECK(r.bytes() == raw.size() + s->bytes());
    std::weak_ptr<const inspect::summary> kept = s;
    s.reset();
    const std::uint64_t id = m->id;
    m.reset();
    CHECK(!kept.expired());  // the ring holds the message, and the message its summary
    CHECK(r.remove(std::span(&id, 1)) == 1);
    CHECK(kept.expired());  // it went with the message
    CHECK(r.bytes() == 0);
}

TEST_CASE("summary: not kept for a message that left the ring, nor beyond the ring's byte bound") {
    const std::string raw = "Subject: a subject long enough to live on the heap\r\n\r\nHello there\r\n";
    auto gone = message("f", "a@x", "b@x", raw);  // never pushed: as if evicted before it was read
    sink::capture_ring r(10, 1 << 20);
    auto s = inspect::summarize(r, *gone);
    CHECK(s->subject == "a subject long enough to live on the heap");
    CHECK(inspect::summarize(r, *gone) != s);  // parsed again: nothing was kept
    CHECK(r.bytes() == 0);

    sink::capture_ring tight(10, raw.size() + 16);  // room for the bytes, not for a summary
    auto m = message("f", "a@x", "b@x", raw);
    tight.push(m);
    auto t = inspect::summarize(tight, *m);
    CHECK(t->subject == s->subject);
    CHECK(inspect::summarize(tight, *m) != t);
    CHECK(tight.bytes() == raw.size());
    CHECK(tight.count() == 1);  // reading never evicts
}

TEST_CASE("capture ring: kept data of two kinds, each once, leave with an evicted message") {
    struct kind_a final : sink::derived_data {
        std::uint64_t bytes() const noexcept override { return 100; }
    };
    struct kind_b final : sink::derived_data {
        std::uint64_t bytes() const noexcept override { return 50; }
    };
    sink::capture_ring r(2, 1000);
    auto m = message("f", "a@x", "b@x", "x");
    r.push(m);
    auto a = sink::derived_of<kind_a>(r, *m, [] { return std::make_shared<const kind_a>(); });
    auto a2 = sink::derived_of<kind_a>(r, *m, [] { return std::make_shared<const kind_a>(); });
    CHECK(a == a2);
    auto other_a = std::make_shared<const kind_a>();
    CHECK(r.keep(*m, other_a) == a);  // another reader was first: its one is what everyone gets
    auto b = sink::derived_of<kind_b>(r, *m, [] { return std::make_shared<const kind_b>(); });
    CHECK(m->derived<kind_a>() == a);
    CHECK(m->derived<kind_b>() == b);
    CHECK(r.bytes() == 1 + 100 + 50);
    r.push(message("f", "a@x", "b@x", "y"));
    r.push(message("f", "a@x", "b@x", "z"));  // evicts m by count
    CHECK(r.bytes() == 2);
    CHECK(r.evicted() == 1);
}

TEST_CASE("fold: Unicode case folding, invalid UTF-8 made valid") {
    CHECK(inspect::fold("ÄÖÜ Straße ΣΑΣ") == "äöü strasse σασ");
    CHECK(inspect::fold("caf\xe9") == "caf\xef\xbf\xbd");
    CHECK(inspect::fold("") == "");
}

TEST_CASE("search: no filter is the newest first, limit and before page") {
    sink::capture_ring r(100, 1 << 20);
    numbered(r, 10);
    CHECK(found(r, {.limit = 3}) == ids{10, 9, 8});
    CHECK(found(r, {.limit = 3, .before = 8}) == ids{7, 6, 5});
    CHECK(found(r, {.limit = 50, .before = 3}) == ids{2, 1});
    CHECK(found(r, {.limit = 50, .before = 1}).empty());
    CHECK(found(r, {.flow = "even", .limit = 2, .before = 9}) == ids{8, 6});
    CHECK(r.list("", 2, 6).size() == 2);
    CHECK(r.list("", 2, 6)[0]->id == 5);
}

TEST_CASE("search: text filters are case-insensitive substrings, combined with AND") {
    sink::capture_ring r(100, 1 << 20);
    numbered(r, 12);
    CHECK(found(r, {.rcpt = "CAROL@"}) == ids{12, 9, 6, 3});
    CHECK(found(r, {.rcpt = "rcpt.TEST", .limit = 2}) == ids{12, 11});
    CHECK(found(r, {.from = "env1"}) == ids{12, 11, 10, 1});
    CHECK(found(r, {.from = "s7@example"}) == ids{7});
    CHECK(found(r, {.subject = "STRASSE NR. 1"}) == ids{12, 11, 10, 1});
    CHECK(found(r, {.text = "sender 5 "}) == ids{});  // the display name is "Sender 5": no trailing space
    CHECK(found(r, {.text = "sender 5"}) == ids{5});
    CHECK(found(r, {.text = "body 11"}) == ids{11});
    CHECK(found(r, {.flow = "even", .rcpt = "carol", .subject = "nr. 1"}) == ids{12});
    CHECK(found(r, {.flow = "odd", .rcpt = "carol", .text = "body 9"}) == ids{9});
    CHECK(found(r, {.flow = "odd", .rcpt = "carol", .text = "body 6"}).empty());
}

TEST_CASE("search: a filter that keeps few messages reads the whole ring, page after page") {
    sink::capture_ring r(1000, 1 << 24);
    numbered(r, 600);  // more than one search page (256)
    CHECK(found(r, {.from = "s3@", .limit = 5}) == ids{3});
    CHECK(found(r, {.from = "env59", .limit = 3}) == ids{599, 598, 597});
    auto carol = found(r, {.rcpt = "carol", .limit = 1000});
    CHECK(carol.size() == 200);
    CHECK(carol.front() == 600);
    CHECK(carol.back() == 3);
    CHECK(found(r, {.rcpt = "carol", .limit = 2, .before = 300}) == ids{297, 294});
}
