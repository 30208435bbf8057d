// Command-line parsing (RFC 5321 4.1.1, 4.1.2) and ESMTP parameters (RFC 1870, 6152, 3030, 6531, 3461).
// Pure functions over string_views of the caller's line; results point into it and never outlive it.
// The line given here has no CRLF. Nothing here decides what a command means in a state: see session.
#pragma once
#include <cstdint>
#include <string_view>

#include "smtp/limits.hpp"
#include "smtp/reply.hpp"

namespace smtp {

enum class verb : std::uint8_t {
    ehlo, helo, mail, rcpt, data, bdat, rset, noop, quit, vrfy, help, expn, starttls, auth, unknown
};

struct command {
    verb v = verb::unknown;
    std::string_view args;  // after the verb and its separating space(s); "" when none
};

// Splits a command line into its verb (case-insensitive) and arguments.
command parse_command(std::string_view line) noexcept;

struct path_result {
    bool ok = false;
    reply_id error = reply_id::bad_address;  // when !ok
    std::string_view address;                // without <>, without a source route; "" for <>
    std::string_view params;                 // the rest, leading spaces removed
    bool non_ascii = false;                  // the address has octets over 0x7f (needs SMTPUTF8)
};

// The path a command carries: MAIL's reverse-path (`FROM:<path>`, may be the null path `<>`, a syntax error is
// syntax_mail) or RCPT's forward-path (`TO:<path>`, never `<>`, a syntax error is syntax_rcpt).
enum class path_kind : std::uint8_t { reverse, forward };

// Parses `FROM:<path> params` or `TO:<path> params`, as `kind` says.
path_result parse_path(std::string_view args, path_kind kind) noexcept;

// Walks `KEY[=VALUE]` parameters separated by spaces. Returns false when none is left.
bool next_param(std::string_view& rest, std::string_view& key, std::string_view& value) noexcept;

// RFC 3461 4: xtext ("+" HEX HEX escapes, printable ASCII except "+" and "=").
bool is_xtext(std::string_view s) noexcept;

// A decimal number of at most `max_digits` digits that fits in 64 bits; false on anything else.
bool parse_number(std::string_view s, std::uint64_t& out, std::size_t max_digits = limits::max_number_digits) noexcept;

// RFC 5321 4.1.1.1: an EHLO/HELO argument: a domain or an address literal, here loosely checked
// (printable, no spaces, no brackets mismatched).
bool is_helo_argument(std::string_view s) noexcept;

}  // namespace smtp
