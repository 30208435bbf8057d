// Reply parsing for clients. See client_reply.hpp. RFC 5321 4.2.1: "250-text" continues a reply, "250 text"
// (or "250" alone) ends it; every line of one reply carries the same code. Lines may end in CRLF or bare LF.
#include "smtp/client_reply.hpp"

#include <cstring>

#include "smtp/ascii.hpp"

namespace smtp {
namespace {

// The line [0, eol) without its CR: its code, and whether it is the last line of the reply.
struct line_info {
    bool ok = false;
    bool last = false;
    unsigned short code = 0;
};

line_info read_line(std::string_view line) noexcept {
    line_info r;
    line = ascii::without_cr(line);
    if (line.size() < 3 || !ascii::is_digit(line[0]) || !ascii::is_digit(line[1]) || !ascii::is_digit(line[2]))
        return r;
    if (line[0] < '2' || line[0] > '5') return r;
    if (line.size() > 3 && line[3] != ' ' && line[3] != '-') return r;
    r.code = static_cast<unsigned short>((line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0'));
    r.last = line.size() == 3 || line[3] == ' ';
    r.ok = true;
    return r;
}

// Up to three digits, at least one; returns how many.
std::size_t digits(std::string_view s, std::size_t pos, std::size_t max) noexcept {
    std::size_t n = 0;
    while (pos + n < s.size() && n < max && ascii::is_digit(s[pos + n])) ++n;
    return n;
}

}  // namespace

std::string_view enhanced_code_prefix(std::string_view text, unsigned short code) noexcept {
    // RFC 3463 2: class "." subject "." detail; class 2, 4 or 5; subject 1-3 digits; detail 1-3 digits.
    if (text.size() < 5 || text[0] != char('0' + code / 100) || text[1] != '.') return {};
    std::size_t pos = 2;
    std::size_t n = digits(text, pos, 3);
    if (n == 0 || pos + n >= text.size() || text[pos + n] != '.') return {};
    pos += n + 1;
    n = digits(text, pos, 3);
    if (n == 0) return {};
    pos += n;
    if (pos < text.size() && text[pos] != ' ') return {};
    return text.substr(0, pos);
}

client_reply client_reply_parser::parse(std::string_view in) noexcept {
    client_reply r;
    std::size_t pos = scanned_;
    while (pos < in.size()) {
        const void* nl = std::memchr(in.data() + pos, '\n', in.size() - pos);
        if (!nl) {
            if (in.size() - pos > limits::client_reply_line) r.status = reply_status::malformed;
            return r;
        }
        std::size_t eol = static_cast<std::size_t>(static_cast<const char*>(nl) - in.data());
        std::string_view line = in.substr(pos, eol - pos);
        auto info = read_line(line);
        if (!info.ok || line.size() + 1 > limits::client_reply_line || (lines_ > 0 && info.code != code_) ||
            eol + 1 > limits::client_reply_total) {
            r.status = reply_status::malformed;
            return r;
        }
        code_ = info.code;
        ++lines_;
        if (!info.last) {
            pos = scanned_ = eol + 1;
            continue;
        }
        line = ascii::without_cr(line);
        std::string_view text = line.size() > 4 ? line.substr(4) : std::string_view();
        r.status = reply_status::complete;
        r.consumed = eol + 1;
        r.code = code_;
        r.lines = lines_;
        r.enhanced = enhanced_code_prefix(text, code_);
        if (!r.enhanced.empty()) {
            text.remove_prefix(r.enhanced.size());
            if (!text.empty()) text.remove_prefix(1);
        }
        r.text = text;
        r.raw = in.substr(0, eol + 1);
        reset();
        return r;
    }
    return r;
}

bool ehlo_has(std::string_view raw, std::string_view keyword) noexcept {
    std::size_t pos = raw.find('\n');  // the first line is the greeting name, not an extension
    while (pos != std::string_view::npos && pos + 1 < raw.size()) {
        std::size_t start = pos + 1;
        std::size_t end = raw.find('\n', start);
        auto length = end == std::string_view::npos ? raw.size() - start : end - start;
        auto line = ascii::without_cr(raw.substr(start, length));
        if (line.size() >= 4) {
            std::string_view word = line.substr(4);
            bool whole = word.size() == keyword.size() || (word.size() > keyword.size() && word[keyword.size()] == ' ');
            if (whole && ascii::istarts_with(word, keyword)) return true;
        }
        pos = end;
    }
    return false;
}

}  // namespace smtp
