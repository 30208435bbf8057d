// A fault rule: where it acts (a stage, optionally only for one flow, recipient or sender), what it does (a
// reply, a delay, a disconnect, silence) and when it fires (first N, every Nth, at random, at most N times).
// Rules come as key=value pairs, from the --fault flag ("stage=rcpt,code=451,first=2") or from the API's JSON
// (which http/ turns into the same pairs): one validator, one set of messages, each naming the bad key.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "smtp/stage.hpp"

namespace sink {
class flow_key;
}

namespace fault {

enum class action : std::uint8_t { reply, delay, disconnect, silence };

std::string_view action_name(action a) noexcept;

// A rule's keys as given, in order: ("stage", "rcpt"), ("code", "451")...
using key_values = std::vector<std::pair<std::string, std::string>>;

// A bad rule: what() is one line that starts with the key it is about ("code: must be 400 to 599, not 200").
class rule_error : public std::invalid_argument {
public:
    rule_error(std::string key, const std::string& why);
    // The key the error is about ("" when the rule as a whole is wrong, such as an item that is not key=value).
    const std::string& key() const noexcept { return key_; }
    // The same error about rule `i` (from 1) of a list of `n`: "rule 2 of 3: code: ...".
    rule_error in_list(std::size_t i, std::size_t n) const;

private:
    struct whole {};
    rule_error(whole, std::string key, const std::string& message);
    std::string key_;
};

// Limits of what a rule may say.
inline constexpr std::size_t max_text = 400;  // RFC 5321 4.5.3.1.5: a reply line is at most 512 octets
inline constexpr std::size_t max_pattern = 320;  // an address: 64 + 1 + 255 (RFC 5321 4.5.3.1)

struct rule {
    smtp::stage stage = smtp::stage::connect;
    action act = action::reply;
    unsigned short code = 0;  // reply: 400..599; delay: 0 (then go on normally) or the code that follows
    std::string text;         // "" for the code's usual text
    std::uint64_t delay_ms = 0;
    bool reset = false;       // disconnect with an RST
    std::string flow, rcpt, mail_from;  // "" matches every one; rcpt and mail_from are * globs, "<>" the null sender
    bool has_probability = false;
    double probability = 1.0;
    std::uint64_t first = 0, every = 0, times = 0;  // 0: not given

    // The rule as the flag would write it, keys in a fixed order: "stage=rcpt,action=reply,code=451,first=2".
    std::string describe() const;
    // The delay as the flag reads it: "250ms", "2s".
    std::string delay_text() const;
};

// The pairs of "stage=rcpt, code=451,text=\"Try later, please\"": items split at commas (empty items skipped),
// keys and values trimmed, a value in double quotes may hold commas. Throws rule_error.
key_values split(std::string_view text);
// The validator: a rule from its pairs; throws rule_error naming the first bad key.
rule validate(const key_values& kv);
// split, then validate.
rule parse(std::string_view text);

// Whether `address` matches `pattern`: ASCII case-insensitive, '*' matches any run of characters; "<>" matches
// the null sender ("").
bool glob_match(std::string_view pattern, std::string_view address) noexcept;

// Why a rule with a flow may not match as one expects: at a stage before `message` the flow is named by the
// envelope only, so a flow that --flow-key takes from a header cannot match there. "" when that does not apply.
std::string flow_note(const rule& r, const sink::flow_key& key);

}  // namespace fault
