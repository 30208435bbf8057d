// The observer's verdicts at every stage (observer::on_stage), carried out by the session: a reply instead of the
// normal one, a delay (pipelined commands wait in the server's buffer until resume()), a close without a reply
// (FIN or RST) and silence. Every stage x action, every script whole, byte by byte and split at every offset.
#include <doctest/doctest.h>

#include "harness.hpp"
#include "smtp/base64.hpp"

namespace {

using kind = smtp::verdict::kind;
using smtp::action;
using smtp::stage;

struct accept_all final : smtp::authenticator {
    bool check_password(std::string_view, std::string_view) const override { return true; }
    bool check_cram_md5(std::string_view, std::string_view, std::string_view) const override { return true; }
    std::string challenge() const override { return "<1.2@mx.test>"; }
};
const accept_all any_user;

// The profile of every case: STARTTLS offered, AUTH offered in plaintext and accepting every user.
const smtp::profile& profile() {
    static const smtp::profile p = test::make_profile([](smtp::options& o) {
        o.tls_available = true;
        o.auth = &any_user;
        o.auth_insecure = true;
    });
    return p;
}

const std::string ehlo = "EHLO client.test\r\n", mail = "MAIL FROM:<a@x.test>\r\n", rcpt = "RCPT TO:<b+t@y.test>\r\n";
const std::string ehlo_out =
    "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250-ENHANCEDSTATUSCODES\r\n"
    "250-CHUNKING\r\n250-BINARYMIME\r\n250-DSN\r\n250-STARTTLS\r\n250 AUTH PLAIN LOGIN CRAM-MD5\r\n";
const std::string mail_ok = "250 2.1.0 Sender ok\r\n", rcpt_ok = "250 2.1.5 Recipient ok\r\n",
                  data_go = "354 End data with <CR><LF>.<CR><LF>\r\n", noop_ok = "250 2.0.0 Ok\r\n",
                  queued = "250 2.0.0 Ok: queued as 7.1\r\n";

// One stage: what the client says before it (and the replies), the command that reaches it and its normal
// reply, and a command pipelined after it with its reply in the normal course and after a refusal.
struct stage_case {
    std::string name;
    stage at;
    std::string before, before_out, trigger, normal, after, after_normal, after_refused;
    std::string header = {};  // the refusal's header section, at message
    // The replies to `before` that come after the greeting (what the first step of a script writes).
    std::string before_steps() const { return before_out.substr(at == stage::connect ? 0 : test::greeting.size()); }
};

std::vector<stage_case> cases() {
    const std::string greeting = test::greeting, setup = greeting + ehlo_out;
    return {
        {"connect", stage::connect, "", "", "", greeting, "NOOP\r\n", noop_ok, "503 5.5.1 Bad sequence of commands\r\n"},
        {"ehlo", stage::ehlo, "", greeting, ehlo, ehlo_out, mail, mail_ok, "503 5.5.1 Send EHLO or HELO first\r\n"},
        {"helo", stage::ehlo, "", greeting, "HELO client.test\r\n", "250 mx.test\r\n", mail, mail_ok,
         "503 5.5.1 Send EHLO or HELO first\r\n"},
        {"mail", stage::mail, ehlo, setup, mail, mail_ok, rcpt, rcpt_ok, "503 5.5.1 Need MAIL command first\r\n"},
        {"rcpt", stage::rcpt, ehlo + mail, setup + mail_ok, rcpt, rcpt_ok, "DATA\r\n", data_go,
         "503 5.5.1 Need RCPT command first\r\n"},
        {"data (DATA)", stage::data, ehlo + mail + rcpt, setup + mail_ok + rcpt_ok, "DATA\r\n", data_go, "", "", ""},
        {"data (BDAT)", stage::data, ehlo + mail + rcpt, setup + mail_ok + rcpt_ok, "BDAT 3\r\nabc",
         "250 2.0.0 3 octets received\r\n", "BDAT 0 LAST\r\n", queued, "503 5.5.1 Need MAIL command first\r\n"},
        {"message (DATA)", stage::message, ehlo + mail + rcpt + "DATA\r\n", setup + mail_ok + rcpt_ok + data_go,
         "Subject: s\r\n\r\nbody\r\n.\r\n", queued, "NOOP\r\n", noop_ok, noop_ok, "Subject: s\r\n\r\n"},
        {"message (BDAT)", stage::message, ehlo + mail + rcpt, setup + mail_ok + rcpt_ok, "BDAT 8 LAST\r\nA: b\r\n\r\n",
         queued, "NOOP\r\n", noop_ok, noop_ok, "A: b\r\n\r\n"},
        {"starttls", stage::starttls, ehlo, setup, "STARTTLS\r\n", "220 2.0.0 Ready to start TLS\r\n", "", "", ""},
        {"auth", stage::auth, ehlo, setup, "AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n", "235 2.7.0 Authentication successful\r\n",
         "NOOP\r\n", noop_ok, noop_ok},
        {"quit", stage::quit, ehlo, setup, "QUIT\r\n", "221 2.0.0 Bye\r\n", "", "", ""},
    };
}

// The reply a verdict asks for, as the session renders it at that stage (RFC 2034: none at connect and ehlo).
std::string injected(stage at, const std::string& code, const std::string& enhanced, const std::string& text) {
    if (at == stage::connect) return code + " mx.test " + text + "\r\n";
    if (at == stage::ehlo) return code + " " + text + "\r\n";
    return code + " " + enhanced + " " + text + "\r\n";
}

// Runs the case under for_each_split with `v` as the verdict at its stage (none elsewhere), then `tail`.
test::run_result run(const stage_case& c, smtp::verdict v, test::script tail = {}) {
    test::script sc{c.before + c.trigger + c.after};
    sc.insert(sc.end(), tail.begin(), tail.end());
    auto verdicts = [at = c.at, v](const smtp::stage_event& e) { return e.stage == at ? v : smtp::verdict{}; };
    return test::for_each_split(profile(), sc, {.verdicts = verdicts});
}

// How often the observer was asked about the case's stage.
std::size_t asked(const test::run_result& r, stage at) {
    std::size_t n = 0;
    for (const auto& s : r.stages) n += s.starts_with(std::string(smtp::stage_name(at)) + " ");
    return n;
}

}  // namespace

TEST_CASE("verdicts: none leaves every stage as it was, and each stage is asked once") {
    for (const auto& c : cases()) {
        CAPTURE(c.name);
        auto r = run(c, {});
        CHECK(r.output == c.before_out + c.normal + c.after_normal);
        CHECK(asked(r, c.at) == 1);
    }
}

TEST_CASE("verdicts: a reply replaces the normal one, with the enhanced code that fits; a refused message is a refusal") {
    for (const auto& c : cases()) {
        CAPTURE(c.name);
        auto r = run(c, {kind::reply, 451, "try later"});
        CHECK(r.output == c.before_out + injected(c.at, "451", "4.3.0", "try later") + c.after_refused);
        CHECK(r.messages.empty());
        if (smtp::in_transaction(c.at))
            CHECK(r.refusals == std::vector<test::refusal>{{451, c.header}});
        else
            CHECK(r.refusals.empty());
        CHECK(r.closed == (c.at == stage::quit));
        if (c.at == stage::starttls) CHECK(r.steps[0].next == action::none);  // no TLS: the session goes on in plaintext
        if (c.at == stage::quit) CHECK(r.quit);
    }
}

TEST_CASE("verdicts: 421 closes after the reply, at every stage") {
    for (const auto& c : cases()) {
        CAPTURE(c.name);
        auto r = run(c, {kind::reply, 421, ""});
        CHECK(r.output ==
              c.before_out + injected(c.at, "421", "4.3.2", "Service not available, closing transmission channel"));
        CHECK(r.closed);
        CHECK((c.at == stage::connect ? r.opened : r.steps.back().next) == action::close_after_flush);
        CHECK(r.messages.empty());
    }
}

TEST_CASE("verdicts: a delay stops reading at its stage; after resume() the normal reply, then the pipelined rest") {
    for (const auto& c : cases()) {
        CAPTURE(c.name);
        auto r = run(c, {kind::delay, 0, "", 1500}, {test::resume});
        REQUIRE(r.steps.size() == 2);
        CHECK(r.steps[0].output == c.before_steps());
        CHECK((c.at == stage::connect ? r.opened : r.steps[0].next) == action::wait);
        CHECK(r.steps[0].left == c.after);  // what was pipelined after it waits, unread
        CHECK(r.steps[1].output == c.normal + c.after_normal);
        CHECK(r.steps[1].left.empty());
        CHECK(r.steps[1].next == (c.at == stage::starttls ? action::start_tls
                                  : c.at == stage::quit   ? action::close_after_flush
                                                          : action::none));
        CHECK(asked(r, c.at) == 1);  // the delayed stage is not asked again when it resumes
        if (c.at == stage::message) CHECK(r.messages.size() == 1);
    }
}

TEST_CASE("verdicts: a delay with a code replies it once the delay is over") {
    for (const auto& c : cases()) {
        CAPTURE(c.name);
        auto r = run(c, {kind::delay, 554, "no", 10}, {test::resume});
        REQUIRE(r.steps.size() == 2);
        CHECK(r.steps[0].left == c.after);
        CHECK(r.steps[1].output == injected(c.at, "554", "5.7.1", "no") + c.after_refused);
        CHECK(r.messages.empty());
        CHECK(r.refusals.size() == (smtp::in_transaction(c.at) ? 1u : 0u));
    }
}

TEST_CASE("verdicts: disconnect closes without a reply, with a FIN or an RST") {
    for (bool reset : {false, true}) {
        for (const auto& c : cases()) {
            CAPTURE(c.name);
            CAPTURE(reset);
            smtp::verdict v{kind::disconnect};
            v.reset = reset;
            auto r = run(c, v);
            CHECK(r.output == c.before_out);
            CHECK((c.at == stage::connect ? r.opened : r.steps.back().next) == (reset ? action::reset : action::disconnect));
            CHECK(r.closed);
            CHECK(r.messages.empty());
            CHECK(r.refusals.empty());
        }
    }
}

TEST_CASE("verdicts: silence answers nothing more and drops what comes; a timeout closes without a reply") {
    for (const auto& c : cases()) {
        CAPTURE(c.name);
        auto r = run(c, {kind::silence}, {"NOOP\r\nQUIT\r\n", test::timeout});
        REQUIRE(r.steps.size() == 3);
        CHECK(r.steps[0].output == c.before_steps());
        CHECK(r.steps[0].left.empty());
        CHECK(r.steps[1].output.empty());
        CHECK(r.steps[1].next == action::none);
        CHECK(r.steps[2].output.empty());
        CHECK(r.steps[2].closing);
        CHECK(r.messages.empty());
        CHECK(r.refusals.empty());
    }
}

TEST_CASE("verdicts: a silent session closes at once on shutdown") {
    auto r = test::for_each_split(profile(), {ehlo + mail, test::shutdown},
                                  {.verdicts = [](const smtp::stage_event& e) {
                                      return e.stage == stage::mail ? smtp::verdict{kind::silence} : smtp::verdict{};
                                  }});
    REQUIRE(r.steps.size() == 2);
    CHECK(r.steps[1].output.empty());
    CHECK(r.steps[1].next == action::close_after_flush);
}

TEST_CASE("verdicts: what the observer is told at each stage") {
    auto r = test::for_each_split(
        profile(), {ehlo + "AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n" + mail + rcpt + "RCPT TO:<c@z.test>\r\nDATA\r\n" +
                    "X: y\r\n\r\nbody\r\n.\r\nQUIT\r\n"},
        {.verdicts = [](const smtp::stage_event& e) {
            // The second recipient is refused: the envelope keeps the first only.
            if (e.stage == stage::rcpt && e.env.recipient_count() == 2) return smtp::verdict{kind::reply, 550};
            return smtp::verdict{};
        }});
    CHECK(r.stages == std::vector<std::string>{
                          "connect ||||", "ehlo client.test||||", "auth client.test||||",
                          "mail client.test|alice|a@x.test||", "rcpt client.test|alice|a@x.test|b+t@y.test|",
                          "rcpt client.test|alice|a@x.test|b+t@y.test,c@z.test|",
                          "data client.test|alice|a@x.test|b+t@y.test|",
                          "message client.test|alice|a@x.test|b+t@y.test|X: y\r\n\r\n", "quit client.test|alice|||"});
    CHECK(r.output.find("550 5.1.1 Mailbox unavailable\r\n") != std::string::npos);
    REQUIRE(r.messages.size() == 1);
    CHECK(r.messages[0].rcpts == std::vector<std::string>{"b+t@y.test"});
    CHECK(r.refusals == std::vector<test::refusal>{{550, ""}});
}

TEST_CASE("verdicts: after a refused greeting only QUIT is answered otherwise (RFC 5321 3.1)") {
    auto r = test::for_each_split(profile(), {ehlo + mail + "QUIT\r\n"},
                                  {.verdicts = [](const smtp::stage_event& e) {
                                      return e.stage == stage::connect ? smtp::verdict{kind::reply, 554, "go away"}
                                                                       : smtp::verdict{};
                                  }});
    CHECK(r.output == "554 mx.test go away\r\n503 5.5.1 Bad sequence of commands\r\n"
                      "503 5.5.1 Bad sequence of commands\r\n221 2.0.0 Bye\r\n");
    CHECK(r.quit);
}

TEST_CASE("replies: the enhanced code fits the stage and the code; a text that has one keeps it") {
    using smtp::enhanced_code_for;
    CHECK(enhanced_code_for(stage::rcpt, 550) == "5.1.1");
    CHECK(enhanced_code_for(stage::mail, 550) == "5.1.8");
    CHECK(enhanced_code_for(stage::message, 550) == "5.7.1");
    CHECK(enhanced_code_for(stage::message, 552) == "5.3.4");
    CHECK(enhanced_code_for(stage::rcpt, 552) == "5.2.2");
    CHECK(enhanced_code_for(stage::data, 554) == "5.7.1");
    CHECK(enhanced_code_for(stage::auth, 535) == "5.7.8");
    CHECK(enhanced_code_for(stage::starttls, 454) == "4.7.0");
    CHECK(enhanced_code_for(stage::rcpt, 499) == "4.0.0");
    CHECK(enhanced_code_for(stage::rcpt, 599) == "5.0.0");
    CHECK(smtp::starts_with_enhanced_code("4.7.1 greylisted"));
    CHECK(smtp::starts_with_enhanced_code("5.1.10"));
    CHECK_FALSE(smtp::starts_with_enhanced_code("5.1.1000 x"));
    CHECK_FALSE(smtp::starts_with_enhanced_code("3.1.1 x"));
    CHECK_FALSE(smtp::starts_with_enhanced_code("4.7. x"));
    CHECK_FALSE(smtp::starts_with_enhanced_code("4.7.1x"));
    smtp::reply_book on({"mx.test", true}), off({"mx.test", false});
    std::string out;
    on.append_injected(out, stage::rcpt, 450, "4.7.1 greylisted, come back later");
    on.append_injected(out, stage::rcpt, 552, "");
    off.append_injected(out, stage::message, 554, "");
    off.append_injected(out, stage::message, 451, "4.3.0 as given");
    CHECK(out == "450 4.7.1 greylisted, come back later\r\n552 5.2.2 Exceeded storage allocation\r\n"
                 "554 Transaction failed\r\n451 4.3.0 as given\r\n");
}
