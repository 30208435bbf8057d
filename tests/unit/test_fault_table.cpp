// The fault table and one connection's verdicts: triggers (first, every, probability, times) and their
// combinations with exact counts, the first rule that fires deciding, filters (flow, rcpt, mail_from), counts per
// flow and in the tally, rules added and removed between events, spent rules leaving the table, determinism of
// the chance per seed and session, and exact counts with several threads.
#include <doctest/doctest.h>

#include <tuple>
#include <thread>

#include "fault/observer.hpp"
#include "harness.hpp"
#include "sink_driver.hpp"

namespace {

using smtp::stage;
using kind = smtp::verdict::kind;

// A hub with the default flow key (header:X-Flow,rcpt-tag) and a table with these rules.
struct rig {
    explicit rig(std::vector<std::string> rules, std::uint64_t seed = 42, std::size_t threads = 1)
        : hub(sink::options{}, threads), table(seed) {
        std::vector<fault::rule> parsed;
        for (const auto& r : rules) parsed.push_back(fault::parse(r));
        table.add(std::move(parsed));
    }
    fault::connection_observer connection(std::uint64_t session = 1, std::size_t thread = 0) {
        return fault::connection_observer(hub, table, thread, "127.0.0.1:1", session);
    }
    sink::hub hub;
    fault::table table;
};

// The verdict kind and code at `at` for a transaction from `from` to `to` (the recipient asked about is the last).
smtp::verdict ask(fault::connection_observer& c, stage at, std::vector<std::string> to = {"u@x.test"},
                  std::string from = "app@x.test", std::string header = "") {
    smtp::envelope env;
    env.set_mail_from(from);
    for (const auto& t : to) env.add_recipient({env.keep(t), {}, 0});
    return c.on_stage({at, env, "client.test", "", header});
}

// Which of `n` events at `at` fired (1-based numbers).
std::vector<int> firings(fault::connection_observer& c, int n, stage at = stage::rcpt) {
    std::vector<int> out;
    for (int i = 1; i <= n; ++i)
        if (ask(c, at).what != kind::none) out.push_back(i);
    return out;
}

// (seen, fired) of the rule with this id, or (-1, -1) when it has left the table.
std::pair<long, long> counts(const fault::table& t, std::uint64_t id) {
    for (const auto& e : *t.current())
        if (e->id == id) return {long(e->seen.load()), long(e->fired.load())};
    return {-1, -1};
}

}  // namespace

TEST_CASE("fault triggers: first, every, probability, times and their combinations, exactly") {
    const std::vector<int> all = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    const std::vector<std::tuple<std::string, std::vector<int>, bool>> expected = {  // keys, firings, spent
        {"", all, false},
        {",first=2", {1, 2}, false},
        {",every=3", {3, 6, 9, 12}, false},
        {",first=7,every=2", {2, 4, 6}, false},
        {",times=3", {1, 2, 3}, true},
        {",every=2,times=2", {2, 4}, true},
        {",first=5,times=9", {1, 2, 3, 4, 5}, false},
        {",probability=1", all, false},
        {",probability=0", {}, false},
        {",probability=1,first=3,every=1", {1, 2, 3}, false},
    };
    for (const auto& [keys, fired, spent] : expected) {
        CAPTURE(keys);
        rig r({"stage=rcpt,code=451" + keys});
        auto c = r.connection();
        CHECK(firings(c, 12) == fired);
        CHECK(counts(r.table, 1) == (spent ? std::pair{-1L, -1L} : std::pair{12L, long(fired.size())}));
    }
}

TEST_CASE("fault triggers: a spent rule leaves the table, and the next rule decides; later rules are not asked") {
    rig r({"stage=rcpt,code=451,times=2", "stage=rcpt,code=550,every=2", "stage=mail,code=421"});
    auto c = r.connection();
    std::vector<unsigned short> codes;
    for (int i = 0; i < 6; ++i) codes.push_back(ask(c, stage::rcpt).code);
    CHECK(codes == std::vector<unsigned short>{451, 451, 0, 550, 0, 550});
    CHECK(counts(r.table, 1) == std::pair{-1L, -1L});
    CHECK(counts(r.table, 2) == std::pair{4L, 2L});  // not asked while rule 1 fired
    CHECK(counts(r.table, 3) == std::pair{0L, 0L});  // another stage
    CHECK(r.table.current()->size() == 2);
}

TEST_CASE("fault filters: rcpt (the one asked about at rcpt, any later), mail_from, the null sender, flow") {
    rig r({"stage=rcpt,code=550,rcpt=*@bad.test", "stage=message,code=554,rcpt=victim@*", "stage=mail,code=553,mail_from=<>",
           "stage=mail,code=551,mail_from=*@spam.test", "stage=rcpt,code=452,flow=tagged"});
    auto c = r.connection();
    CHECK(ask(c, stage::rcpt, {"a@bad.test", "b@good.test"}).code == 0);  // asked about b
    CHECK(ask(c, stage::rcpt, {"b@good.test", "a@BAD.test"}).code == 550);
    CHECK(ask(c, stage::message, {"x@y", "victim@z"}).code == 554);
    CHECK(ask(c, stage::message, {"x@y"}).code == 0);
    CHECK(ask(c, stage::mail, {}, "").code == 553);
    CHECK(ask(c, stage::mail, {}, "a@spam.test").code == 551);
    CHECK(ask(c, stage::mail, {}, "a@ham.test").code == 0);
    CHECK(ask(c, stage::rcpt, {"u+tagged@x.test"}).code == 452);  // rcpt-tag names the flow at rcpt
    CHECK(ask(c, stage::rcpt, {"u+other@x.test"}).code == 0);
    CHECK(ask(c, stage::rcpt, {"u+tagged@x.test", "v@x.test"}).code == 452);  // the first recipient's tag
}

TEST_CASE("fault counts: per flow by stage:code or stage:action, and the tally by stage, action and code") {
    rig r({"stage=rcpt,code=451,first=2", "stage=rcpt,action=delay,delay=1s", "stage=message,action=disconnect",
           "stage=data,action=delay,delay=5ms,code=452", "stage=mail,action=silence,flow=_default"});
    auto c = r.connection();
    for (int i = 0; i < 3; ++i) ask(c, stage::rcpt, {"u+signup@x.test"});
    ask(c, stage::data, {"u+signup@x.test"});
    ask(c, stage::message, {"u@x.test"}, "a@x.test", "X-Flow: invoices\r\n\r\n");
    ask(c, stage::mail, {});
    auto signup = r.hub.flows.get("signup");
    CHECK(signup.faults == std::map<std::string, std::uint64_t>{{"data:452", 1}, {"rcpt:451", 2}, {"rcpt:delay", 1}});
    CHECK(signup.seen);
    CHECK(signup.messages == 0);
    CHECK(r.hub.flows.get("invoices").faults == std::map<std::string, std::uint64_t>{{"message:disconnect", 1}});
    CHECK(r.hub.flows.get("_default").faults == std::map<std::string, std::uint64_t>{{"mail:silence", 1}});
    std::vector<std::tuple<stage, fault::action, unsigned short, std::uint64_t>> tally;
    for (const auto& i : r.table.injections()) tally.emplace_back(i.stage, i.act, i.code, i.count);
    using A = fault::action;
    CHECK(tally == decltype(tally){{stage::mail, A::silence, 0, 1},
                                   {stage::rcpt, A::reply, 451, 2},
                                   {stage::rcpt, A::delay, 0, 1},
                                   {stage::data, A::delay, 452, 1},
                                   {stage::message, A::disconnect, 0, 1}});
    r.hub.flows.reset("signup");
    CHECK(r.hub.flows.get("signup").faults.empty());
}

TEST_CASE("fault verdicts: what each action asks of the session") {
    rig r({"stage=ehlo,code=550,text=\"go, away\"", "stage=mail,action=delay,delay=1.5s",
           "stage=rcpt,action=delay,delay=20ms,code=451,text=later", "stage=data,action=disconnect,reset=true",
           "stage=quit,action=silence"});
    auto c = r.connection();
    auto v = ask(c, stage::ehlo);
    CHECK((v.what == kind::reply && v.code == 550 && v.text == "go, away"));
    v = ask(c, stage::mail);
    CHECK((v.what == kind::delay && v.code == 0 && v.delay_ms == 1500 && v.text.empty()));
    v = ask(c, stage::rcpt);
    CHECK((v.what == kind::delay && v.code == 451 && v.delay_ms == 20 && v.text == "later"));
    v = ask(c, stage::data);
    CHECK((v.what == kind::disconnect && v.reset));
    CHECK(ask(c, stage::quit).what == kind::silence);
    CHECK(ask(c, stage::connect).what == kind::none);
}

TEST_CASE("fault table: rules added and removed apply to the next event of a connection already open") {
    rig r({});
    auto c = r.connection();
    CHECK(ask(c, stage::rcpt).what == kind::none);
    auto v0 = r.table.version();
    auto ids = r.table.add({fault::parse("stage=rcpt,code=451"), fault::parse("stage=rcpt,code=452")});
    CHECK(ids == std::vector<std::uint64_t>{1, 2});
    CHECK(r.table.version() > v0);
    CHECK(ask(c, stage::rcpt).code == 451);
    CHECK(r.table.remove(1));
    CHECK_FALSE(r.table.remove(1));
    CHECK(ask(c, stage::rcpt).code == 452);
    CHECK(r.table.add({fault::parse("stage=rcpt,code=453")}) == std::vector<std::uint64_t>{3});  // ids are not reused
    CHECK(r.table.clear() == 2);
    CHECK(ask(c, stage::rcpt).what == kind::none);
    CHECK(r.table.current()->empty());
}

TEST_CASE("fault chance: the same seed and session give the same firings; another seed or session others") {
    auto pattern = [](std::uint64_t seed, std::uint64_t session) {
        rig r({"stage=rcpt,code=451,probability=0.3"}, seed);
        auto c = r.connection(session);
        return firings(c, 400);
    };
    auto a = pattern(7, 1);
    CHECK(a == pattern(7, 1));
    CHECK(a != pattern(8, 1));
    CHECK(a != pattern(7, 2));
    CHECK(a.size() > 90);  // about 120 of 400
    CHECK(a.size() < 150);
    // A chance is drawn only by a rule with a probability, for an event that passed its filters: a rule in front
    // whose filter fails, and a rule without a chance at another stage, leave the draws as they were.
    rig r({"stage=rcpt,code=452,rcpt=nobody@*,probability=0.5", "stage=rcpt,code=451,probability=0.3",
           "stage=mail,code=421,every=2"}, 7);
    auto c = r.connection(1);
    for (int i = 0; i < 5; ++i) ask(c, stage::mail);
    CHECK(firings(c, 400) == a);
    CHECK(fault::connection_seed(7, 1) != fault::connection_seed(7, 2));
}

TEST_CASE("fault counters: exact with several threads (first, every, times)") {
    rig r({"stage=rcpt,code=451,times=100", "stage=mail,code=451,first=50", "stage=data,code=451,every=10"}, 1, 4);
    std::vector<std::thread> threads;
    std::atomic<int> fired_rcpt{0}, fired_mail{0}, fired_data{0};
    for (std::size_t t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            auto c = r.connection(t + 1, t);
            for (int i = 0; i < 1000; ++i) {
                fired_rcpt += ask(c, stage::rcpt).code != 0;
                fired_mail += ask(c, stage::mail).code != 0;
                fired_data += ask(c, stage::data).code != 0;
            }
        });
    for (auto& t : threads) t.join();
    CHECK(fired_rcpt == 100);
    CHECK(fired_mail == 50);
    CHECK(fired_data == 400);
    CHECK(counts(r.table, 1) == std::pair{-1L, -1L});
    CHECK(counts(r.table, 2) == std::pair{4000L, 50L});
    CHECK(counts(r.table, 3) == std::pair{4000L, 400L});
    CHECK(r.hub.flows.get("_default").faults ==
          std::map<std::string, std::uint64_t>{{"data:451", 400}, {"mail:451", 50}, {"rcpt:451", 100}});
}

TEST_CASE("fault gate: with no rule the session does not ask; a delay under way survives its rule's removal") {
    rig r({});
    auto c = r.connection();
    const auto profile = test::make_profile();
    smtp::session s(profile, c, 1);
    auto feed = [&](std::string_view in) {
        auto fr = s.feed(in);
        std::string out(s.output());
        s.output_written(out.size());
        return std::pair{fr, out};
    };
    s.open();
    s.output_written(s.output().size());
    feed("EHLO c\r\nMAIL FROM:<a@x.test>\r\n");
    CHECK(r.table.size().load() == 0);
    r.table.add({fault::parse("stage=rcpt,action=delay,delay=1s,code=451")});
    CHECK(r.table.size().load() == 1);
    auto [fr, out] = feed("RCPT TO:<u@x.test>\r\nNOOP\r\n");
    CHECK(fr.next == smtp::action::wait);
    CHECK(fr.consumed == 20);  // the RCPT line; NOOP waits
    CHECK(out.empty());
    r.table.clear();  // the rule goes while its delay runs: what it asked for still follows
    s.resume();
    auto [fr2, out2] = feed("NOOP\r\n");
    CHECK(out2 == "451 4.3.0 Local error in processing, try again later\r\n250 2.0.0 Ok\r\n");
    CHECK(fr2.next == smtp::action::none);
    CHECK(feed("RCPT TO:<u@x.test>\r\n").second == "250 2.1.5 Recipient ok\r\n");  // no rule: not asked
    CHECK(r.table.injections().size() == 1);
}
