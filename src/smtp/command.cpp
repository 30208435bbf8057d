// Command-line parsing: verbs, paths and ESMTP parameters. See command.hpp.
#include "smtp/command.hpp"

#include <cstdint>

#include "smtp/ascii.hpp"
#include "smtp/limits.hpp"

namespace smtp {
namespace {

struct verb_name {
    std::string_view name;
    verb v;
};
constexpr verb_name verbs[] = {
    {"ehlo", verb::ehlo}, {"helo", verb::helo}, {"mail", verb::mail}, {"rcpt", verb::rcpt},
    {"data", verb::data}, {"bdat", verb::bdat}, {"rset", verb::rset}, {"noop", verb::noop},
    {"quit", verb::quit}, {"vrfy", verb::vrfy}, {"help", verb::help}, {"expn", verb::expn},
    {"starttls", verb::starttls}, {"auth", verb::auth},
};

// Spaces separate a verb, its arguments and parameters (RFC 5321 4.1.1); a tab does not.
constexpr std::string_view skip_spaces(std::string_view s) noexcept { return ascii::trim_left<ascii::is_sp>(s); }

// What MAIL and RCPT differ in, indexed by path_kind.
struct path_syntax {
    std::string_view keyword;
    bool allow_null;  // `<>`, the null reverse-path
    reply_id syntax_error;
};
constexpr path_syntax path_syntaxes[] = {
    {"FROM:", true, reply_id::syntax_mail},  // path_kind::reverse
    {"TO:", false, reply_id::syntax_rcpt},   // path_kind::forward
};

// The address inside the brackets: an optional source route "@a,@b:" (RFC 5321 4.1.2, ignored per C.),
// then a local part (dot-string or quoted string) "@" domain, or a bare local part (postmaster).
bool check_mailbox(std::string_view& a, bool& non_ascii) noexcept {
    if (!a.empty() && a.front() == '@') {
        auto colon = a.find(':');
        if (colon == std::string_view::npos) return false;
        a.remove_prefix(colon + 1);
    }
    if (a.empty()) return false;
    bool in_quotes = false;
    bool seen_at = false;
    std::size_t at_pos = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        auto c = static_cast<unsigned char>(a[i]);
        if (c >= 0x80) non_ascii = true;
        if (ascii::is_control(a[i])) return false;
        if (in_quotes) {
            if (c == '\\') {
                if (++i == a.size()) return false;
            } else if (c == '"') {
                in_quotes = false;
            }
            continue;
        }
        if (c == '"' && !seen_at) {
            in_quotes = true;
        } else if (c == ' ' || c == '<' || c == '>' || c == '(' || c == ')' || c == ',' || c == ';' ||
                   c == '\\') {
            return false;
        } else if (c == '@') {
            if (seen_at) return false;
            seen_at = true;
            at_pos = i;
        }
    }
    if (in_quotes) return false;
    if (seen_at && (at_pos == 0 || at_pos + 1 == a.size())) return false;
    return true;
}

}  // namespace

command parse_command(std::string_view line) noexcept {
    auto sp = line.find(' ');
    auto word = line.substr(0, sp);
    command c;
    if (sp != std::string_view::npos) c.args = ascii::trim_right(skip_spaces(line.substr(sp + 1)));
    for (const auto& n : verbs)
        if (ascii::iequals(word, n.name)) {
            c.v = n.v;
            break;
        }
    return c;
}

path_result parse_path(std::string_view args, path_kind kind) noexcept {
    const auto& syntax = path_syntaxes[std::size_t(kind)];
    path_result r;
    r.error = syntax.syntax_error;
    if (!ascii::istarts_with(args, syntax.keyword)) return r;
    auto rest = skip_spaces(args.substr(syntax.keyword.size()));
    if (rest.empty() || rest.front() != '<') return r;
    // Find the closing '>' outside quotes.
    std::size_t close = std::string_view::npos;
    bool in_quotes = false;
    for (std::size_t i = 1; i < rest.size(); ++i) {
        char c = rest[i];
        if (in_quotes && c == '\\') {
            ++i;
        } else if (c == '"') {
            in_quotes = !in_quotes;
        } else if (c == '>' && !in_quotes) {
            close = i;
            break;
        }
    }
    if (close == std::string_view::npos) return r;
    auto after = rest.substr(close + 1);
    if (!after.empty() && after.front() != ' ') return r;
    r.params = skip_spaces(after);
    auto addr = rest.substr(1, close - 1);
    r.error = reply_id::bad_address;
    if (close + 1 > limits::path) return r;
    if (addr.empty()) {
        if (!syntax.allow_null) return r;
    } else if (!check_mailbox(addr, r.non_ascii)) {
        return r;
    }
    r.address = addr;
    r.ok = true;
    return r;
}

bool next_param(std::string_view& rest, std::string_view& key, std::string_view& value) noexcept {
    rest = skip_spaces(rest);
    if (rest.empty()) return false;
    auto sp = rest.find(' ');
    auto item = rest.substr(0, sp);
    rest = sp == std::string_view::npos ? std::string_view{} : rest.substr(sp);
    auto eq = item.find('=');
    key = item.substr(0, eq);
    value = eq == std::string_view::npos ? std::string_view{} : item.substr(eq + 1);
    return true;
}

bool is_xtext(std::string_view s) noexcept {
    auto hex = [](char c) { return ascii::is_digit(c) || (c >= 'A' && c <= 'F'); };  // upper case only
    for (std::size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c == '+') {
            if (i + 2 >= s.size()) return false;
            if (!hex(s[i + 1]) || !hex(s[i + 2])) return false;
            i += 2;
        } else if (c < '!' || c > '~' || c == '=') {
            return false;
        }
    }
    return true;
}

bool parse_number(std::string_view s, std::uint64_t& out, std::size_t max_digits) noexcept {
    if (s.empty() || s.size() > max_digits) return false;
    std::uint64_t n = 0;
    for (char c : s) {
        if (!ascii::is_digit(c)) return false;
        auto d = std::uint64_t(c - '0');
        if (n > (UINT64_MAX - d) / 10) return false;
        n = n * 10 + d;
    }
    out = n;
    return true;
}

bool is_helo_argument(std::string_view s) noexcept {
    if (s.empty() || s.size() > 255) return false;
    for (char c : s)
        if (ascii::is_control(c) || c == ' ') return false;
    return true;
}

}  // namespace smtp
