// MIME parts as HTTP downloads. See download.hpp.
#include "http/download.hpp"

#include <algorithm>
#include <string_view>

#include "http/render.hpp"

namespace http {
namespace {

// RFC 7230 3.2.6 tchar.
bool is_tchar(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar); }

// RFC 5987 3.2.1 attr-char: what stands for itself in an ext-value.
bool is_attr_char(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           std::string_view("!#$&+-.^_`|~").find(c) != std::string_view::npos;
}

// Printable ASCII that may stand in a quoted-string as it is (no quote, no backslash).
bool is_plain(char c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; }

// The name with each character that is not plain ASCII as one '_' (UTF-8 continuation bytes dropped).
std::string ascii_fallback(std::string_view name) {
    std::string out;
    for (char c : name) {
        if (is_plain(c)) out += c;
        else if ((static_cast<unsigned char>(c) & 0xc0) != 0x80) out += '_';
    }
    return out;
}

// RFC 5987 ext-value: UTF-8'' and the octets, percent-encoded where they are not attr-chars.
std::string ext_value(std::string_view utf8) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out = "UTF-8''";
    for (char c : utf8) {
        if (is_attr_char(c)) {
            out += c;
        } else {
            auto b = static_cast<unsigned char>(c);
            out += '%';
            out += hex[b >> 4];
            out += hex[b & 0xf];
        }
    }
    return out;
}

}  // namespace

std::string part_content_type(const inspect::part_info& p) {
    std::string_view type = p.content_type;
    auto slash = type.find('/');
    if (slash == type.npos || !is_token(type.substr(0, slash)) || !is_token(type.substr(slash + 1)))
        return "application/octet-stream";
    std::string out(type);
    if (type.starts_with("text/") && is_token(p.charset)) out += "; charset=" + p.charset;
    return out;
}

std::string part_disposition(const inspect::part_info& p) {
    if (!p.attachment && p.filename.empty()) return {};
    std::string out = p.attachment ? "attachment" : "inline";
    if (p.filename.empty()) return out;
    const boost::json::string name = utf8_text(p.filename);  // valid UTF-8, to encode
    const std::string_view view(name.data(), name.size());
    out += "; filename=\"" + ascii_fallback(view) + "\"";
    if (!std::all_of(view.begin(), view.end(), is_plain)) out += "; filename*=" + ext_value(view);
    return out;
}

}  // namespace http
