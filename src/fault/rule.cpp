// Fault rules: splitting "key=value,..." and the one validator of both the flag and the API. See rule.hpp.
#include "fault/rule.hpp"

#include <charconv>
#include <cmath>

#include "cli/units.hpp"
#include "sink/flow_key.hpp"
#include "smtp/ascii.hpp"

namespace fault {
namespace {

namespace ascii = smtp::ascii;
using smtp::stage;

constexpr std::string_view known_keys =
    "stage, action, code, text, delay, reset, flow, rcpt, mail_from, probability, first, every, times";
constexpr std::string_view action_names[] = {"reply", "delay", "disconnect", "silence"};

bool printable(std::string_view v) {
    for (char c : v)
        if (c < 0x20 || c > 0x7e) return false;
    return true;
}

// `v` in quotes for a message, its bytes outside printable ASCII as \xHH: a message stays one line of text.
std::string quoted(std::string_view v) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out = "'";
    for (char c : v) {
        auto u = static_cast<unsigned char>(c);
        if (printable({&c, 1})) out += c;
        else out.append("\\x").append(1, hex[u >> 4]).append(1, hex[u & 15]);
    }
    return out + "'";
}

std::string stage_list() {
    std::string out;
    for (auto n : smtp::stage_names) out.append(out.empty() ? "" : ", ").append(n);
    return out;
}

// A whole number above 0.
std::uint64_t positive(const std::string& key, std::string_view v) {
    std::uint64_t n = 0;
    auto r = std::from_chars(v.data(), v.data() + v.size(), n);
    if (r.ec != std::errc{} || r.ptr != v.data() + v.size() || n == 0)
        throw rule_error(key, "must be a whole number above 0, not " + quoted(v));
    return n;
}

double probability(std::string_view v) {
    double p = -1;
    auto r = std::from_chars(v.data(), v.data() + v.size(), p);
    if (r.ec != std::errc{} || r.ptr != v.data() + v.size() || !std::isfinite(p) || p < 0 || p > 1)
        throw rule_error("probability", "must be a number from 0 to 1, not " + quoted(v));
    return p;
}

unsigned short reply_code(std::string_view v) {
    unsigned n = 0;
    auto r = std::from_chars(v.data(), v.data() + v.size(), n);
    if (r.ec != std::errc{} || r.ptr != v.data() + v.size() || n < 400 || n > 599)
        throw rule_error("code", "must be a reply code from 400 to 599, not " + quoted(v));
    return static_cast<unsigned short>(n);
}

std::uint64_t delay(std::string_view v) {
    std::uint64_t ms = 0;
    if (!printable(v)) throw rule_error("delay", "bad duration " + quoted(v) + " (e.g. 250ms, 2s, 1m)");
    try {
        ms = std::uint64_t(cli::parse_duration(v).count());
    } catch (const std::invalid_argument& e) {
        throw rule_error("delay", std::string(e.what()) + " (e.g. 250ms, 2s, 1m)");
    }
    if (ms == 0) throw rule_error("delay", "must be above 0");
    return ms;
}

// Text for a reply line: no control characters (a CR or LF would end the reply early), at most max_text octets.
std::string reply_text(std::string_view v) {
    if (v.size() > max_text) throw rule_error("text", "longer than " + std::to_string(max_text) + " octets");
    for (char c : v)
        if (ascii::is_control(c)) throw rule_error("text", "must not hold control characters (CR, LF, TAB...)");
    return std::string(v);
}

std::string flow_name(std::string_view v) {
    std::string s(v);
    sink::sanitise_flow_name(s);
    if (s != v)
        throw rule_error("flow", "not a flow name: printable ASCII without spaces, '\"' or '\\', at most " +
                                     std::to_string(sink::max_flow_name) + " octets");
    return s;
}

std::string pattern(const std::string& key, std::string_view v) {
    if (v.size() > max_pattern) throw rule_error(key, "longer than " + std::to_string(max_pattern) + " octets");
    for (char c : v)
        if (ascii::is_control(c) || c == ' ') throw rule_error(key, "must be an address or a * glob, without spaces");
    return std::string(v);
}

bool yes_no(std::string_view v) {
    if (v == "true") return true;
    if (v == "false") return false;
    throw rule_error("reset", "must be true or false, not " + quoted(v));
}

// The value of one key, into `r`.
void set(rule& r, const std::string& key, std::string_view v) {
    if (key == "stage") {
        for (std::size_t i = 0; i < smtp::stage_names.size(); ++i)
            if (v == smtp::stage_names[i]) return void(r.stage = static_cast<stage>(i));
        throw rule_error(key, "must be one of " + stage_list() + ", not " + quoted(v));
    }
    if (key == "action") {
        for (std::size_t i = 0; i < std::size(action_names); ++i)
            if (v == action_names[i]) return void(r.act = static_cast<action>(i));
        throw rule_error(key, "must be reply, delay, disconnect or silence, not " + quoted(v));
    }
    if (key == "code") return void(r.code = reply_code(v));
    if (key == "text") return void(r.text = reply_text(v));
    if (key == "delay") return void(r.delay_ms = delay(v));
    if (key == "reset") return void(r.reset = yes_no(v));
    if (key == "flow") return void(r.flow = flow_name(v));
    if (key == "rcpt") return void(r.rcpt = pattern(key, v));
    if (key == "mail_from") return void(r.mail_from = pattern(key, v));
    if (key == "probability") {
        r.has_probability = true;
        return void(r.probability = probability(v));
    }
    if (key == "first") return void(r.first = positive(key, v));
    if (key == "every") return void(r.every = positive(key, v));
    if (key == "times") return void(r.times = positive(key, v));
    throw rule_error(key, "unknown key (use " + std::string(known_keys) + ")");
}

// What the keys say together.
void check(const rule& r, const key_values& kv) {
    auto given = [&](std::string_view key) {
        for (const auto& [k, v] : kv)
            if (k == key) return true;
        return false;
    };
    if (!given("stage")) throw rule_error("stage", "required: one of " + stage_list());
    if (r.act == action::reply && !given("code")) throw rule_error("code", "required with action=reply");
    if (given("code") && r.act != action::reply && r.act != action::delay)
        throw rule_error("code", "only with action=reply or action=delay");
    if (given("text") && !given("code")) throw rule_error("text", "only with a code");
    if (r.act == action::delay && !given("delay")) throw rule_error("delay", "required with action=delay");
    if (given("delay") && r.act != action::delay) throw rule_error("delay", "only with action=delay");
    if (given("reset") && r.act != action::disconnect) throw rule_error("reset", "only with action=disconnect");
    const auto at = std::string(smtp::stage_name(r.stage));
    const bool sender_known = smtp::in_transaction(r.stage);
    if (given("mail_from") && !sender_known)
        throw rule_error("mail_from", "no sender is known at stage " + at + " (use mail, rcpt, data or message)");
    if (given("rcpt") && (!sender_known || r.stage == stage::mail))
        throw rule_error("rcpt", "no recipient is known at stage " + at + " (use rcpt, data or message)");
}

}  // namespace

rule_error::rule_error(std::string key, const std::string& why)
    : std::invalid_argument(key.empty() ? why : key + ": " + why), key_(std::move(key)) {}

rule_error::rule_error(whole, std::string key, const std::string& message)
    : std::invalid_argument(message), key_(std::move(key)) {}

rule_error rule_error::in_list(std::size_t i, std::size_t n) const {
    return rule_error(whole{}, key_, "rule " + std::to_string(i) + " of " + std::to_string(n) + ": " + what());
}

std::string_view action_name(action a) noexcept { return action_names[static_cast<std::size_t>(a)]; }

key_values split(std::string_view text) {
    key_values out;
    std::size_t i = 0;
    auto skip_space = [&] {
        while (i < text.size() && ascii::is_space(text[i])) ++i;
    };
    while (true) {
        skip_space();
        if (i == text.size()) break;
        if (text[i] == ',') {  // an empty item
            ++i;
            continue;
        }
        auto end = text.find_first_of(",=", i);
        if (end == std::string_view::npos || text[end] == ',')
            throw rule_error("", quoted(ascii::trim<ascii::is_space>(text.substr(i, end - i))) + " is not key=value");
        std::string key(ascii::trim<ascii::is_space>(text.substr(i, end - i)));
        if (!printable(key)) throw rule_error("", "unknown key " + quoted(key) + " (use " + std::string(known_keys) + ")");
        i = end + 1;
        skip_space();
        std::string_view value;
        if (i < text.size() && text[i] == '"') {  // a quoted value may hold commas
            auto close = text.find('"', i + 1);
            if (close == std::string_view::npos) throw rule_error(key, "the quote is not closed");
            value = text.substr(i + 1, close - i - 1);
            i = close + 1;
            skip_space();
            if (i < text.size() && text[i] != ',') throw rule_error(key, "text after the closing quote");
        } else {
            auto comma = text.find(',', i);
            value = ascii::trim<ascii::is_space>(text.substr(i, comma == std::string_view::npos ? comma : comma - i));
            i = comma == std::string_view::npos ? text.size() : comma;
        }
        out.emplace_back(std::move(key), std::string(value));
        if (i < text.size()) ++i;  // the comma
    }
    if (out.empty()) throw rule_error("", "empty rule: give key=value pairs, stage= first");
    return out;
}

rule validate(const key_values& kv) {
    rule r;
    for (std::size_t i = 0; i < kv.size(); ++i) {
        const auto& [key, value] = kv[i];
        for (std::size_t j = 0; j < i; ++j)
            if (kv[j].first == key) throw rule_error(key, "given twice");
        if (value.empty()) throw rule_error(key, "empty value");
        set(r, key, value);
    }
    check(r, kv);
    return r;
}

rule parse(std::string_view text) { return validate(split(text)); }

bool glob_match(std::string_view pattern, std::string_view s) noexcept {
    if (pattern == "<>") return s.empty();
    // Greedy match with backtracking to the last '*': linear in practice, quadratic at worst on short strings.
    std::size_t p = 0, i = 0, star = std::string_view::npos, mark = 0;
    while (i < s.size()) {
        if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            mark = i;
        } else if (p < pattern.size() && ascii::lower(pattern[p]) == ascii::lower(s[i])) {
            ++p, ++i;
        } else if (star != std::string_view::npos) {
            p = star + 1;
            i = ++mark;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*') ++p;
    return p == pattern.size();
}

std::string rule::describe() const {
    std::string out = "stage=" + std::string(smtp::stage_name(stage)) + ",action=" + std::string(action_name(act));
    auto add = [&](std::string_view key, std::string_view value) { out.append(",").append(key).append("=").append(value); };
    // A value as text: quoted when reading it back unquoted would change it (a comma would end it, spaces at either
    // end would be trimmed). Text, flow names and patterns may all hold commas; none can hold both a comma and a
    // quote, as only an unquoted value holds a quote and it ends at a comma.
    auto add_text = [&](std::string_view key, const std::string& value) {
        if (value.empty()) return;
        const bool quote = value.find(',') != std::string::npos || ascii::is_space(value.front()) ||
                           ascii::is_space(value.back());
        add(key, quote ? "\"" + value + "\"" : value);
    };
    if (code) add("code", std::to_string(code));
    add_text("text", text);
    if (act == action::delay) add("delay", delay_text());
    if (reset) add("reset", "true");
    add_text("flow", flow);
    add_text("rcpt", rcpt);
    add_text("mail_from", mail_from);
    if (has_probability) add("probability", cli::format_number(probability));
    if (first) add("first", std::to_string(first));
    if (every) add("every", std::to_string(every));
    if (times) add("times", std::to_string(times));
    return out;
}

std::string rule::delay_text() const { return cli::format_duration(std::chrono::milliseconds(delay_ms)); }

std::string flow_note(const rule& r, const sink::flow_key& key) {
    if (r.flow.empty() || r.stage == stage::message || !key.uses_header()) return {};
    return "at stage " + std::string(smtp::stage_name(r.stage)) +
           " no header is read yet: the flow is what the envelope's extractors name (or _default); a flow named by "
           "a header matches from stage message on";
}

}  // namespace fault
