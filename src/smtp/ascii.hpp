// ASCII helpers, the one home of each for every layer: character classes, case-insensitive comparison,
// lower-casing and trimming. SMTP keywords and header field names are ASCII and case-insensitive (RFC 5321 2.4,
// RFC 5322 1.2.2); no locale is consulted, and an octet over 0x7f is never a letter, a digit or a space here.
#pragma once
#include <string>
#include <string_view>

namespace smtp::ascii {

constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
constexpr bool is_upper(char c) noexcept { return c >= 'A' && c <= 'Z'; }
// RFC 5234 B.1 CTL: %x00-1F and DEL.
constexpr bool is_control(char c) noexcept {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
}

// The separators trim_* can drop: SP alone (SMTP's one separator, RFC 5321 4.1.1), WSP (SP and HTAB, RFC 5234
// B.1), or any white space, line ends included.
constexpr bool is_sp(char c) noexcept { return c == ' '; }
constexpr bool is_wsp(char c) noexcept { return c == ' ' || c == '\t'; }
constexpr bool is_space(char c) noexcept { return is_wsp(c) || c == '\r' || c == '\n'; }

constexpr char lower(char c) noexcept { return is_upper(c) ? char(c - 'A' + 'a') : c; }

// Lower-cases `s` in place.
inline void to_lower(std::string& s) noexcept {
    for (auto& c : s) c = lower(c);
}

constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

constexpr bool istarts_with(std::string_view s, std::string_view prefix) noexcept {
    return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

// `s` without the leading, trailing, or leading and trailing characters that `drop` matches (WSP by default).
template <bool (*drop)(char) noexcept = is_wsp>
constexpr std::string_view trim_left(std::string_view s) noexcept {
    while (!s.empty() && drop(s.front())) s.remove_prefix(1);
    return s;
}
template <bool (*drop)(char) noexcept = is_wsp>
constexpr std::string_view trim_right(std::string_view s) noexcept {
    while (!s.empty() && drop(s.back())) s.remove_suffix(1);
    return s;
}
template <bool (*drop)(char) noexcept = is_wsp>
constexpr std::string_view trim(std::string_view s) noexcept {
    return trim_right<drop>(trim_left<drop>(s));
}

// A line without the CR of its CRLF (a line that ended in a bare LF has none).
constexpr std::string_view without_cr(std::string_view line) noexcept {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
}

}  // namespace smtp::ascii
