// The ESMTP parameter tables of MAIL and RCPT and their value parsers. See parameters.hpp.
// A row is {keyword, extension it needs, parser}; its index in the table is its bit in `seen`, so that a
// parameter given twice is refused. No allocation: the tables are constexpr, parsers plain functions.
#include "smtp/parameters.hpp"

#include <cstdint>
#include <span>

#include "smtp/ascii.hpp"
#include "smtp/command.hpp"
#include "smtp/limits.hpp"

namespace smtp {
namespace {

using outcome = std::optional<reply_id>;
constexpr outcome accepted = std::nullopt;

// What a value parser records into: the envelope, and for RCPT the recipient being added.
struct target {
    const profile& prof;
    envelope& env;
    envelope::recipient* rcpt = nullptr;
};

struct parameter {
    std::string_view keyword;
    extension needs;
    bool bare;  // takes no value (SMTPUTF8): a value is refused before a repetition is
    outcome (*parse)(std::string_view value, target& t);
};

// A keyword value and what it stands for.
template <class T>
struct word {
    std::string_view name;
    T value;
};

// What `w` stands for in `words`, case-insensitively; null if nothing.
template <class T, std::size_t N>
constexpr const T* look_up(const word<T> (&words)[N], std::string_view w) noexcept {
    for (const auto& e : words)
        if (ascii::iequals(w, e.name)) return &e.value;
    return nullptr;
}

constexpr word<body_type> body_types[] = {
    {"7BIT", body_type::seven_bit}, {"8BITMIME", body_type::eight_bit_mime}, {"BINARYMIME", body_type::binary_mime}};
constexpr word<dsn_ret> returns[] = {{"FULL", dsn_ret::full}, {"HDRS", dsn_ret::hdrs}};
constexpr word<std::uint8_t> notifications[] = {
    {"NEVER", notify::never}, {"SUCCESS", notify::success}, {"FAILURE", notify::failure}, {"DELAY", notify::delay}};

outcome parse_size(std::string_view value, target& t) {
    std::uint64_t n = 0;
    if (!parse_number(value, n)) return reply_id::bad_size_value;
    if (n > t.prof.opts().max_message_size) return reply_id::size_exceeded_mail;
    t.env.set_declared_size(n);
    return accepted;
}

outcome parse_body(std::string_view value, target& t) {
    auto body = look_up(body_types, value);
    if (!body) return reply_id::bad_parameter;
    // RFC 3030 3: BINARYMIME is sent with BDAT only, so it comes with CHUNKING.
    if (*body == body_type::binary_mime && !t.prof.enabled(extension::chunking)) return reply_id::bad_parameter;
    t.env.set_body(*body);
    return accepted;
}

outcome parse_smtputf8(std::string_view, target& t) {
    t.env.set_smtputf8();
    return accepted;
}

outcome parse_ret(std::string_view value, target& t) {
    auto ret = look_up(returns, value);
    if (!ret) return reply_id::bad_parameter;
    t.env.set_ret(*ret);
    return accepted;
}

outcome parse_envid(std::string_view value, target& t) {
    if (value.empty() || value.size() > limits::envid || !is_xtext(value)) return reply_id::bad_parameter;
    t.env.set_envid(value);
    return accepted;
}

// RFC 3461 4.1: a comma-separated list of SUCCESS, FAILURE and DELAY, or NEVER alone.
outcome parse_notify(std::string_view value, target& t) {
    if (value.empty()) return reply_id::bad_parameter;
    auto& bits = t.rcpt->notify;
    while (!value.empty()) {
        auto comma = value.find(',');
        auto item = look_up(notifications, value.substr(0, comma));
        if (!item) return reply_id::bad_parameter;
        bits |= *item;
        value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
    }
    if ((bits & notify::never) && bits != notify::never) return reply_id::bad_parameter;
    return accepted;
}

// RFC 3461 4.2: addr-type ";" xtext.
outcome parse_orcpt(std::string_view value, target& t) {
    auto semi = value.find(';');
    if (semi == std::string_view::npos || semi == 0 || value.size() > limits::orcpt ||
        !is_xtext(value.substr(semi + 1)))
        return reply_id::bad_parameter;
    t.rcpt->orcpt = t.env.keep(value);
    return accepted;
}

constexpr parameter mail_table[] = {
    {"SIZE", extension::size, false, parse_size},
    {"BODY", extension::eight_bit_mime, false, parse_body},
    {"SMTPUTF8", extension::smtputf8, true, parse_smtputf8},
    {"RET", extension::dsn, false, parse_ret},
    {"ENVID", extension::dsn, false, parse_envid},
};
constexpr parameter rcpt_table[] = {
    {"NOTIFY", extension::dsn, false, parse_notify},
    {"ORCPT", extension::dsn, false, parse_orcpt},
};
using seen_bits = std::uint32_t;
static_assert(std::size(mail_table) <= 32 && std::size(rcpt_table) <= 32, "one bit of seen_bits a row");

// The row of `key` among the parameters whose extension is on; the table's size if none.
std::size_t find(std::span<const parameter> table, std::string_view key, const profile& p) noexcept {
    std::size_t row = 0;
    while (row < table.size() && !(ascii::iequals(key, table[row].keyword) && p.enabled(table[row].needs))) ++row;
    return row;
}

// Runs every KEY[=VALUE] of `params` through `table`; the first refusal stops it.
outcome check(std::span<const parameter> table, std::string_view params, target& t) {
    seen_bits seen = 0;
    std::string_view key, value;
    while (next_param(params, key, value)) {
        auto row = find(table, key, t.prof);
        if (row == table.size()) return reply_id::unsupported_parameter;
        if (table[row].bare && !value.empty()) return reply_id::bad_parameter;
        auto bit = seen_bits(1) << row;
        if (seen & bit) return reply_id::duplicate_parameter;
        seen |= bit;
        if (auto refusal = table[row].parse(value, t)) return refusal;
    }
    return accepted;
}

}  // namespace

std::optional<reply_id> mail_parameters(std::string_view params, const profile& p, envelope& env) {
    if (params.empty()) return accepted;  // the common case, kept cheap
    target t{p, env};
    return check(mail_table, params, t);
}

std::optional<reply_id> rcpt_parameters(std::string_view params, const profile& p, envelope& env,
                                        envelope::recipient& r) {
    if (params.empty()) return accepted;
    target t{p, env, &r};
    return check(rcpt_table, params, t);
}

}  // namespace smtp
