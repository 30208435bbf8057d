// Fault rules as text and as key=value pairs: every key, every error (each message names its key), quoting,
// the canonical form, address globs and the note about flows named by a header.
#include <doctest/doctest.h>

#include <tuple>
#include "fault/rule.hpp"
#include "sink/flow_key.hpp"

namespace {

// The error `run` throws: its key and its whole message.
template <class Run>
std::pair<std::string, std::string> error_in(Run run) {
    try {
        run();
    } catch (const fault::rule_error& e) {
        return {e.key(), e.what()};
    }
    return {"(none)", "(no error)"};
}

std::pair<std::string, std::string> error_of(std::string_view text) {
    return error_in([&] { fault::parse(text); });
}

std::pair<std::string, std::string> error_of(const fault::key_values& kv) {
    return error_in([&] { fault::validate(kv); });
}

const std::string stages = "connect, ehlo, mail, rcpt, data, message, starttls, auth, quit";

}  // namespace

TEST_CASE("fault rules: every key") {
    auto r = fault::parse(" stage = rcpt , action=delay,code=451, text=\"Try later, please\",delay=1.5s,flow=signup,"
                          "rcpt=*@Y.test,mail_from=<>,probability=0.25,first=3,every=2,times=5");
    CHECK(r.stage == smtp::stage::rcpt);
    CHECK(r.act == fault::action::delay);
    CHECK(r.code == 451);
    CHECK(r.text == "Try later, please");
    CHECK(r.delay_ms == 1500);
    CHECK(r.flow == "signup");
    CHECK(r.rcpt == "*@Y.test");
    CHECK(r.mail_from == "<>");
    CHECK(r.has_probability);
    CHECK(r.probability == 0.25);
    CHECK((r.first == 3 && r.every == 2 && r.times == 5));
    CHECK(r.describe() == "stage=rcpt,action=delay,code=451,text=\"Try later, please\",delay=1500ms,flow=signup,"
                          "rcpt=*@Y.test,mail_from=<>,probability=0.25,first=3,every=2,times=5");
    CHECK(fault::parse(r.describe()).describe() == r.describe());

    auto d = fault::parse("stage=message,action=disconnect,reset=true");
    CHECK((d.act == fault::action::disconnect && d.reset && d.code == 0));
    CHECK(d.describe() == "stage=message,action=disconnect,reset=true");
    // Flow names and patterns may hold commas too: described in quotes, they read back whole.
    auto c = fault::parse("stage=data,action=silence,flow=\"a,b\",rcpt=\"Busy,1*\",mail_from=\",*@x\"");
    CHECK((c.flow == "a,b" && c.rcpt == "Busy,1*" && c.mail_from == ",*@x"));
    CHECK(c.describe() == "stage=data,action=silence,flow=\"a,b\",rcpt=\"Busy,1*\",mail_from=\",*@x\"");
    CHECK(fault::parse(c.describe()).rcpt == "Busy,1*");
    CHECK_FALSE(fault::parse("stage=quit,action=disconnect,reset=false").reset);
    auto s = fault::parse("stage=data,action=silence");
    CHECK((s.act == fault::action::silence && !s.has_probability && s.probability == 1.0));
    CHECK(fault::parse("stage=connect,code=421").act == fault::action::reply);
    CHECK(fault::parse("stage=auth,action=delay,delay=250ms").delay_text() == "250ms");
    for (auto st : smtp::stage_names) CHECK(smtp::stage_name(fault::parse("stage=" + std::string(st) + ",code=451").stage) == st);
}

TEST_CASE("fault rules: every error names its key") {
    const std::vector<std::tuple<std::string, std::string, std::string>> bad = {
        {"", "", "empty rule: give key=value pairs, stage= first"},
        {" , ", "", "empty rule: give key=value pairs, stage= first"},
        {"stage", "", "'stage' is not key=value"},
        {"stage=rcpt,code", "", "'code' is not key=value"},
        {"code=451", "stage", "stage: required: one of " + stages},
        {"stage=rcp,code=451", "stage", "stage: must be one of " + stages + ", not 'rcp'"},
        {"stage=rcpt", "code", "code: required with action=reply"},
        {"stage=rcpt,action=bounce", "action", "action: must be reply, delay, disconnect or silence, not 'bounce'"},
        {"stage=rcpt,code=399", "code", "code: must be a reply code from 400 to 599, not '399'"},
        {"stage=rcpt,code=600", "code", "code: must be a reply code from 400 to 599, not '600'"},
        {"stage=rcpt,code=45x", "code", "code: must be a reply code from 400 to 599, not '45x'"},
        {"stage=rcpt,code=451,text=" + std::string(401, 't'), "text", "text: longer than 400 octets"},
        {"stage=rcpt,code=451,text=a\tb", "text", "text: must not hold control characters (CR, LF, TAB...)"},
        {"stage=rcpt,action=delay,delay=2x", "delay",
         "delay: bad duration unit in '2x' (use ms, s, m or h) (e.g. 250ms, 2s, 1m)"},
        {"stage=rcpt,action=delay,delay=0", "delay", "delay: must be above 0"},
        {"stage=rcpt,action=delay", "delay", "delay: required with action=delay"},
        {"stage=rcpt,code=451,delay=1s", "delay", "delay: only with action=delay"},
        {"stage=rcpt,action=disconnect,reset=yes", "reset", "reset: must be true or false, not 'yes'"},
        {"stage=rcpt,code=451,reset=true", "reset", "reset: only with action=disconnect"},
        {"stage=rcpt,action=disconnect,code=451", "code", "code: only with action=reply or action=delay"},
        {"stage=rcpt,action=silence,code=451", "code", "code: only with action=reply or action=delay"},
        {"stage=rcpt,action=delay,delay=1s,text=x", "text", "text: only with a code"},
        {"stage=rcpt,code=451,flow=a\"b", "flow",
         "flow: not a flow name: printable ASCII without spaces, '\"' or '\\', at most 128 octets"},
        {"stage=rcpt,code=451,flow=" + std::string(129, 'f'), "flow",
         "flow: not a flow name: printable ASCII without spaces, '\"' or '\\', at most 128 octets"},
        {"stage=rcpt,code=451,rcpt=a b@x", "rcpt", "rcpt: must be an address or a * glob, without spaces"},
        {"stage=rcpt,code=451,rcpt=" + std::string(321, 'r'), "rcpt", "rcpt: longer than 320 octets"},
        {"stage=rcpt,code=451,mail_from=a\x01", "mail_from", "mail_from: must be an address or a * glob, without spaces"},
        {"stage=ehlo,code=451,mail_from=*", "mail_from",
         "mail_from: no sender is known at stage ehlo (use mail, rcpt, data or message)"},
        {"stage=mail,code=451,rcpt=*", "rcpt", "rcpt: no recipient is known at stage mail (use rcpt, data or message)"},
        {"stage=quit,code=451,rcpt=*", "rcpt", "rcpt: no recipient is known at stage quit (use rcpt, data or message)"},
        {"stage=rcpt,code=451,probability=1.5", "probability", "probability: must be a number from 0 to 1, not '1.5'"},
        {"stage=rcpt,code=451,probability=-0.1", "probability",
         "probability: must be a number from 0 to 1, not '-0.1'"},
        {"stage=rcpt,code=451,probability=nan", "probability", "probability: must be a number from 0 to 1, not 'nan'"},
        {"stage=rcpt,code=451,first=0", "first", "first: must be a whole number above 0, not '0'"},
        {"stage=rcpt,code=451,every=-2", "every", "every: must be a whole number above 0, not '-2'"},
        {"stage=rcpt,code=451,times=1.5", "times", "times: must be a whole number above 0, not '1.5'"},
        {"stage=rcpt,cod=451", "cod",
         "cod: unknown key (use stage, action, code, text, delay, reset, flow, rcpt, mail_from, probability, first, "
         "every, times)"},
        {"stage=rcpt,code=451,code=452", "code", "code: given twice"},
        {"stage=rcpt,code=", "code", "code: empty value"},
        {"stage=rcpt,code=451,text=\"a, b", "text", "text: the quote is not closed"},
        {"stage=rcpt,code=451,text=\"a\"b", "text", "text: text after the closing quote"},
    };
    for (const auto& [text, key, message] : bad) {
        CAPTURE(text);
        CHECK(error_of(text) == std::pair{key, message});
    }
    // Pairs as the API gives them: a CR LF in a text (which the flag cannot carry), an empty key.
    CHECK(error_of(fault::key_values{{"stage", "rcpt"}, {"code", "451"}, {"text", "a\r\nb"}}) ==
          std::pair<std::string, std::string>{"text", "text: must not hold control characters (CR, LF, TAB...)"});
    CHECK(error_of(fault::key_values{{"stage", "rcpt"}, {"", "451"}}).first == "");
    fault::rule_error e("code", "given twice");
    CHECK(std::string(e.in_list(2, 3).what()) == "rule 2 of 3: code: given twice");
    CHECK(e.in_list(2, 3).key() == "code");
}

TEST_CASE("fault rules: address globs") {
    using fault::glob_match;
    CHECK(glob_match("*@example.test", "Someone@EXAMPLE.test"));
    CHECK(glob_match("user+*@x.test", "user+signup@x.test"));
    CHECK_FALSE(glob_match("user+*@x.test", "user@x.test"));
    CHECK(glob_match("*", ""));
    CHECK(glob_match("*", "anything@at.all"));
    CHECK(glob_match("a*b*c", "aXXbYYc"));
    CHECK_FALSE(glob_match("a*b*c", "aXXbYY"));
    CHECK(glob_match("a**c", "ac"));
    CHECK(glob_match("exact@x.test", "EXACT@x.test"));
    CHECK_FALSE(glob_match("exact@x.test", "exact@x.test.org"));
    CHECK(glob_match("<>", ""));
    CHECK_FALSE(glob_match("<>", "a@b"));
    CHECK_FALSE(glob_match("x@y", ""));
}

TEST_CASE("fault rules: a flow at a stage before message gets a note when the flow key reads a header") {
    auto by_header = sink::flow_key::parse("header:X-Flow,rcpt-tag"), by_tag = sink::flow_key::parse("rcpt-tag");
    auto at_rcpt = fault::parse("stage=rcpt,code=451,flow=signup"), at_message = fault::parse("stage=message,code=451,flow=signup");
    CHECK(fault::flow_note(at_rcpt, by_header) ==
          "at stage rcpt no header is read yet: the flow is what the envelope's extractors name (or _default); a flow "
          "named by a header matches from stage message on");
    CHECK(fault::flow_note(at_rcpt, by_tag).empty());
    CHECK(fault::flow_note(at_message, by_header).empty());
    CHECK(fault::flow_note(fault::parse("stage=rcpt,code=451"), by_header).empty());
}
