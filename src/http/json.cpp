// The JSON writer. See json.hpp.
#include "http/json.hpp"

#include <charconv>

#include "sink/clock.hpp"

namespace http::json {
namespace {

// Length of the valid UTF-8 sequence starting at s[i] (RFC 3629), or 0 if it is not one.
std::size_t utf8_length(std::string_view s, std::size_t i) {
    auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
    auto cont = [&](std::size_t k) { return i + k < s.size() && (b(k) & 0xc0) == 0x80; };
    unsigned char c = b(0);
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        if (!cont(1) || !cont(2)) return 0;
        if (c == 0xe0 && b(1) < 0xa0) return 0;   // overlong
        if (c == 0xed && b(1) >= 0xa0) return 0;  // surrogates
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        if (!cont(1) || !cont(2) || !cont(3)) return 0;
        if (c == 0xf0 && b(1) < 0x90) return 0;
        if (c == 0xf4 && b(1) >= 0x90) return 0;
        return 4;
    }
    return 0;
}

}  // namespace

void append_string(std::string& out, std::string_view s) {
    out += '"';
    for (std::size_t i = 0; i < s.size();) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += char(c);
            ++i;
        } else if (c < 0x20 || c == 0x7f) {
            static const char hex[] = "0123456789abcdef";
            if (c == '\n') out += "\\n";
            else if (c == '\r') out += "\\r";
            else if (c == '\t') out += "\\t";
            else {
                out += "\\u00";
                out += hex[c >> 4];
                out += hex[c & 15];
            }
            ++i;
        } else if (auto n = utf8_length(s, i); n > 0) {
            out.append(s.substr(i, n));
            i += n;
        } else {
            out += "\xef\xbf\xbd";  // U+FFFD for a byte that is not UTF-8
            ++i;
        }
    }
    out += '"';
}

void writer::separate() {
    if (after_key_) {
        after_key_ = false;
        return;
    }
    if (!first_) out_ += ',';
    first_ = false;
}

writer& writer::open(char c) {
    separate();
    out_ += c;
    first_ = true;
    return *this;
}

writer& writer::close(char c) {
    out_ += c;
    first_ = false;
    return *this;
}

writer& writer::key(std::string_view k) {
    separate();
    append_string(out_, k);
    out_ += ':';
    after_key_ = true;
    return *this;
}

writer& writer::value(std::string_view s) {
    separate();
    append_string(out_, s);
    return *this;
}

writer& writer::value(std::uint64_t n) {
    separate();
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, n);
    out_.append(buf, r.ptr);
    return *this;
}

writer& writer::value(bool b) {
    separate();
    out_ += b ? "true" : "false";
    return *this;
}

writer& writer::null() {
    separate();
    out_ += "null";
    return *this;
}

writer& writer::time_ms(std::int64_t ms) {
    if (ms == 0) return null();
    return value(sink::rfc3339_ms(ms));
}

}  // namespace http::json
