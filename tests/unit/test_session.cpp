// The session: what reaches the observer (envelope, header section, body, size), shutdown, timeouts, EOF,
// and that steady-state transactions allocate nothing. Every script runs under for_each_split.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <new>

#include "harness.hpp"
#include "smtp/limits.hpp"

// Counting allocations: only while `counting` is set, so the rest of the tests are unaffected.
namespace {
std::atomic<bool> counting{false};
std::atomic<std::size_t> allocations{0};
}  // namespace

void* operator new(std::size_t n) {
    if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

const std::string hello = "EHLO client.test\r\n";

std::string txn(const std::string& from, const std::string& to, const std::string& body) {
    return "MAIL FROM:<" + from + ">\r\nRCPT TO:<" + to + ">\r\nDATA\r\n" + body + ".\r\n";
}

// What one session did with a batch fed 100 times, cut into `batch`'s pieces, after 3 rounds that size its buffers.
struct alloc_run {
    std::size_t messages = 0, allocations = 0;
    bool operator==(const alloc_run&) const = default;
};

alloc_run count_allocations(const smtp::profile& p, const split::pieces& batch) {
    struct quiet : smtp::observer {
        std::size_t n = 0;
        void on_message(const smtp::message_info&) noexcept override { ++n; }
        void on_reply(unsigned short) noexcept override {}
    } obs;
    smtp::session s(p, obs, 1);
    s.open();
    std::size_t total = 0;
    for (auto piece : batch) total += piece.size();
    std::string pending;
    pending.reserve(total + smtp::limits::command_line);  // a partial line and the next piece: never regrown
    auto discard = [](std::string_view) {};
    for (int warm = 0; warm < 3; ++warm) test::feed_pieces(s, batch, pending, discard);
    allocations = 0;
    counting = true;
    for (int i = 0; i < 100; ++i) test::feed_pieces(s, batch, pending, discard);
    counting = false;
    return {obs.n, allocations.load()};
}

}  // namespace

TEST_CASE("session: the observer gets the envelope, header section, body and size of each message") {
    auto p = test::make_profile();
    std::string body = "Subject: one\r\nX-Flow: signup\r\n\r\nline\r\n..dot\r\n";
    auto r = test::for_each_split(p, hello + txn("a@x.test", "b@y.test", body) + "MAIL FROM:<> SIZE=5\r\n" +
                                         "RCPT TO:<c@y.test>\r\nRCPT TO:<d@y.test>\r\nDATA\r\nno header\r\n.\r\n");
    REQUIRE(r.messages.size() == 2);
    const auto& m = r.messages[0];
    CHECK(m.helo == "client.test");
    CHECK(m.mail_from == "a@x.test");
    CHECK(m.rcpts == std::vector<std::string>{"b@y.test"});
    CHECK(m.header == "Subject: one\r\nX-Flow: signup\r\n\r\n");
    CHECK(m.body == "Subject: one\r\nX-Flow: signup\r\n\r\nline\r\n.dot\r\n");
    CHECK(m.size == m.body.size());
    CHECK_FALSE(m.suspect);
    const auto& n = r.messages[1];
    CHECK(n.mail_from.empty());
    CHECK(n.declared_size == 5);
    CHECK(n.rcpts == std::vector<std::string>{"c@y.test", "d@y.test"});
    CHECK(n.header == "no header\r\n");  // no empty line: all of it is header
    CHECK(n.size == 11);
}

TEST_CASE("session: BDAT chunks make one message, bytes as sent, no unstuffing") {
    auto p = test::make_profile();
    auto r = test::for_each_split(p, hello + "MAIL FROM:<a@x.test> BODY=BINARYMIME\r\nRCPT TO:<b@y.test>\r\n" +
                                         "BDAT 7\r\nA: 1\r\n\rBDAT 6 LAST\r\n" +
                                         std::string("\n.\r\n\0\xff", 6));
    REQUIRE(r.messages.size() == 1);
    CHECK(r.messages[0].kind == smtp::body_kind::bdat);
    CHECK(r.messages[0].body == std::string("A: 1\r\n\r\n.\r\n\0\xff", 13));
    CHECK(r.messages[0].header == "A: 1\r\n\r\n");
    CHECK(r.messages[0].size == 13);
    CHECK(r.messages[0].body_type == smtp::body_type::binary_mime);
}

TEST_CASE("session: the body is not delivered when the observer does not ask for it") {
    auto p = test::make_profile();
    auto r = test::for_each_split(p, hello + txn("a@x.test", "b@y.test", "H: v\r\n\r\nbody\r\n"),
                                  {.greet = false, .want_body = false});
    REQUIRE(r.messages.size() == 1);
    CHECK(r.messages[0].body.empty());
    CHECK(r.messages[0].header == "H: v\r\n\r\n");
    CHECK(r.messages[0].size == 14);
}

TEST_CASE("session: smuggling suspects are accepted, counted once, and flagged") {
    auto p = test::make_profile();
    auto r = test::for_each_split(p, hello + txn("a@x.test", "b@y.test", "x\n.\nMAIL FROM:<e@x>\r\n") +
                                         txn("a@x.test", "b@y.test", "clean\r\n"));
    REQUIRE(r.messages.size() == 2);
    CHECK(r.messages[0].suspect);
    CHECK(r.messages[0].body == "x\n.\nMAIL FROM:<e@x>\r\n");
    CHECK_FALSE(r.messages[1].suspect);
}

TEST_CASE("session: a header section over the cap is cut and marked, the message still accepted") {
    smtp::options o;
    o.hostname = "mx.test";
    smtp::profile p(o);
    std::string big = "X-Big: " + std::string(smtp::limits::header_section, 'h') + "\r\n\r\nbody\r\n";
    auto r = test::for_each_split(p, hello + txn("a@x.test", "b@y.test", big));
    REQUIRE(r.messages.size() == 1);
    CHECK(r.messages[0].header_truncated);
    CHECK(r.messages[0].header.size() == smtp::limits::header_section);
    CHECK(r.messages[0].size == big.size());
}

TEST_CASE("session: shutdown sends 421 at once to an idle session") {
    auto p = test::make_profile();
    auto r = test::for_each_split(p, {hello, test::shutdown});
    REQUIRE(r.steps.size() == 2);
    CHECK(r.steps[1].next == smtp::action::close_after_flush);
    CHECK(r.steps[1].output == "421 4.3.2 Service shutting down, closing transmission channel\r\n");
    CHECK(r.steps[1].closing);
}

TEST_CASE("session: shutdown lets an open transaction finish, then 421") {
    auto p = test::make_profile();
    auto r = test::for_each_split(p,
                                  {hello + "MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\n", test::shutdown,
                                   "DATA\r\nbody\r\n.\r\nMAIL FROM:<again@x.test>\r\n"},
                                  {.greet = false, .id = 1});
    REQUIRE(r.steps.size() == 3);
    CHECK(r.steps[1].next == smtp::action::none);
    CHECK(r.steps[1].output.empty());
    CHECK(r.steps[2].next == smtp::action::close_after_flush);
    CHECK(r.steps[2].output ==
          "354 End data with <CR><LF>.<CR><LF>\r\n250 2.0.0 Ok: queued as 1.1\r\n"
          "421 4.3.2 Service shutting down, closing transmission channel\r\n");
    CHECK(r.messages.size() == 1);
}

TEST_CASE("session: timeout and EOF") {
    auto p = test::make_profile();
    std::string partial = hello + "MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\npartial";
    auto r = test::for_each_split(p, {partial, test::timeout, "\r\n.\r\n"}, {.greet = false});
    REQUIRE(r.steps.size() == 3);
    CHECK(r.steps[0].phase == smtp::phase::data);
    CHECK(r.steps[1].output == "421 4.4.2 Timeout exceeded, closing transmission channel\r\n");
    CHECK(r.steps[1].closing);
    CHECK(r.steps[2].next == smtp::action::close_after_flush);
    CHECK(r.messages.empty());  // never answered 250, never counted

    auto t = test::for_each_split(p, {partial, test::eof}, {.greet = false});
    REQUIRE(t.steps.size() == 2);
    CHECK(t.steps[1].closing);
    CHECK(t.messages.empty());
}

TEST_CASE("session: a partial command line is kept by the caller and not re-scanned from the start") {
    auto p = test::make_profile();
    auto r = test::for_each_split(p, test::script{"NOOP", "\r\n"}, {.greet = false});
    REQUIRE(r.steps.size() == 2);
    CHECK(r.steps[0].left == "NOOP");  // byte by byte too: no prefix of the line was consumed
    CHECK(r.steps[0].output.empty());
    CHECK(r.steps[1].left.empty());
    CHECK(r.steps[1].output == "250 2.0.0 Ok\r\n");
}

TEST_CASE("session: every reply is reported to the observer with its code") {
    auto p = test::make_profile();
    auto r = test::for_each_split(p, hello + "FOO\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n.\r\nQUIT\r\n");
    CHECK(r.codes == std::vector<unsigned short>{220, 250, 500, 250, 250, 354, 250, 221});
}

TEST_CASE("session: steady-state transactions allocate nothing") {
    smtp::options o;
    o.hostname = "mx.test";
    smtp::profile p(o);
    std::string batch = hello + "MAIL FROM:<a@x.test> SIZE=100 BODY=8BITMIME\r\nRCPT TO:<b@y.test> NOTIFY=NEVER\r\n"
                                "RCPT TO:<c@y.test>\r\nDATA\r\nSubject: s\r\n\r\nbody\r\n.\r\n"
                                "MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nBDAT 10 LAST\r\nH: v\r\n\r\nxx"
                                "RSET\r\nNOOP\r\n";
    auto r = test::for_each_split(batch, [&](const split::pieces& cuts) { return count_allocations(p, cuts); });
    CHECK(r.messages == 2 * 103);
    CHECK(r.allocations == 0);
    // The counter itself works: a new string of this size must allocate.
    allocations = 0;
    counting = true;
    auto probe = std::make_unique<std::string>(1000, 'x');
    counting = false;
    CHECK(allocations.load() >= 1);
}

TEST_CASE("session: QUIT is told apart from other ways of closing") {
    auto p = test::make_profile();
    auto a = test::for_each_split(p, "QUIT\r\n", {.greet = false});
    CHECK(a.closed);
    CHECK(a.quit);
    auto b = test::for_each_split(p, {test::timeout}, {.greet = false});
    CHECK(b.closed);
    CHECK_FALSE(b.quit);
}

TEST_CASE("session: header and body bytes make the whole message, also when the header is cut at the cap") {
    smtp::options o;
    o.hostname = "mx.test";
    smtp::profile p(o);
    std::string big = "X-Big: " + std::string(smtp::limits::header_section + 10, 'h') + "\r\n\r\nbody\r\n";
    auto r = test::for_each_split(p, hello + txn("a@x.test", "b@y.test", "A: 1\r\n\r\nbody\r\n") +
                                         txn("a@x.test", "b@y.test", big));
    REQUIRE(r.messages.size() == 2);
    CHECK(r.messages[0].body == "A: 1\r\n\r\nbody\r\n");
    CHECK(r.messages[1].body == big);
    CHECK(r.messages[1].header_truncated);
}

TEST_CASE("session: refusals inside a transaction reach the observer with their code and header") {
    auto p = test::make_profile();  // max 3 recipients, max 1000 octets
    auto r = test::for_each_split(p,
                                  hello + "MAIL FROM:<a@x.test>\r\nRCPT TO:<1@y.test>\r\nRCPT TO:<2@y.test>\r\n"
                                          "RCPT TO:<3@y.test>\r\nRCPT TO:<4@y.test>\r\nRCPT TO:<bad address>\r\n"
                                          "DATA\r\nX-Flow: big\r\n\r\n" + std::string(1200, 'b') + "\r\n.\r\n",
                                  {.greet = false});
    REQUIRE(r.refusals.size() == 3);
    CHECK(r.refusals[0].code == 452);
    CHECK(r.refusals[0].header == "");
    CHECK(r.refusals[1].code == 501);
    CHECK(r.refusals[1].header == "");
    CHECK(r.refusals[2].code == 552);
    CHECK(r.refusals[2].header == "X-Flow: big\r\n\r\n");
    CHECK(r.messages.empty());
}

TEST_CASE("session: a refused RCPT inside a BDAT transaction keeps the header being collected") {
    auto p = test::make_profile();
    auto r = test::for_each_split(p, hello + "MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nBDAT 21\r\n"
                                             "Subject: a long one\r\nRCPT TO:<c@y.test>\r\nBDAT 13 LAST\r\nX-More: b\r\n\r\n");
    REQUIRE(r.messages.size() == 1);
    CHECK(r.messages[0].header == "Subject: a long one\r\nX-More: b\r\n\r\n");
}

TEST_CASE("session: SIZE and BDAT take 20-digit numbers up to 2^64-1; a larger one is a syntax error") {
    auto p = test::make_profile();
    auto reply = [&](smtp::reply_id id) { return std::string(p.replies().get(id)); };
    auto r = test::for_each_split(p, hello + "MAIL FROM:<a@x.test> SIZE=18446744073709551615\r\n" +
                                         "MAIL FROM:<a@x.test> SIZE=18446744073709551616\r\n" +
                                         "BDAT 18446744073709551616\r\n");
    CHECK(r.output == test::greeting + test::ehlo_reply + reply(smtp::reply_id::size_exceeded_mail) +
                          reply(smtp::reply_id::bad_size_value) + reply(smtp::reply_id::syntax_bdat));
    test::recorder rec;
    smtp::session s(p, rec, 1);
    s.feed(hello + "MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nBDAT 18446744073709551615\r\nchunk bytes");
    CHECK(s.current_phase() == smtp::phase::bdat);  // the chunk is being read, not refused
    CHECK(s.output() == test::ehlo_reply + reply(smtp::reply_id::mail_ok) + reply(smtp::reply_id::rcpt_ok));
}
