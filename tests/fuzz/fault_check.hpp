// The properties the --fault rule fuzzer checks, shared by the libFuzzer target and the replay test: any text
// either parses or is refused with a rule_error whose message is one line of printable text (hostile bytes
// escaped) that starts with the key it names (or names none: a rule that is not key=value pairs, a key that is
// not text); a parsed rule's describe() parses back to the same rule. Returns "" or what broke.
#pragma once
#include <string>
#include <string_view>

#include "fault/rule.hpp"

namespace fuzz {

inline bool same_rule(const fault::rule& a, const fault::rule& b) {
    return a.stage == b.stage && a.act == b.act && a.code == b.code && a.text == b.text && a.delay_ms == b.delay_ms &&
           a.reset == b.reset && a.flow == b.flow && a.rcpt == b.rcpt && a.mail_from == b.mail_from &&
           a.has_probability == b.has_probability && a.probability == b.probability && a.first == b.first &&
           a.every == b.every && a.times == b.times;
}

// What is wrong with the refusal `e`, or "".
inline std::string check_refusal(const fault::rule_error& e) {
    std::string_view what = e.what();
    if (what.empty()) return "no message";
    for (char c : what)
        if (c < 0x20 || c > 0x7e) return "a message that is not one line of printable text";
    if (!e.key().empty() && !what.starts_with(e.key() + ": ")) return "a message that does not start with its key";
    return "";
}

// The whole input is a rule as --fault would get it.
inline std::string check_fault_input(std::string_view text) {
    fault::rule r;
    try {
        r = fault::parse(text);
    } catch (const fault::rule_error& e) {
        return check_refusal(e);
    }
    auto described = r.describe();
    try {
        auto again = fault::parse(described);
        if (!same_rule(r, again)) return "describe() reads back as another rule: " + described;
        if (again.describe() != described) return "describe() is not stable: " + described;
    } catch (const fault::rule_error& e) {
        return "describe() does not parse back: " + described + ": " + e.what();
    }
    return "";
}

}  // namespace fuzz
