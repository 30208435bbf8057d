// A captured message as Mailpit's list and search see it, and the text helpers of its search. See
// mailpit_summary.hpp.
#include "http/mailpit_summary.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <optional>
#include <utility>

#include "inspect/summary.hpp"
#include "smtp/ascii.hpp"

namespace http::mailpit {
namespace {

namespace ascii = smtp::ascii;

constexpr std::size_t snippet_bytes = 200;      // Mailpit's snippet limit
constexpr std::string_view bom = "\xef\xbb\xbf";  // U+FEFF, which Mailpit turns into a space

// Inline HTML elements: the words on either side of their tags belong together.
constexpr std::string_view inline_tags[] = {"a",    "abbr", "b",    "big",   "cite", "code",   "em", "font", "i",
                                            "mark", "q",    "s",    "small", "span", "strike", "strong", "sub",
                                            "sup",  "u"};
// Elements whose content is not text to read.
constexpr std::string_view hidden_tags[] = {"head", "script", "style", "title"};

bool is_space(char c) { return ascii::is_space(c) || c == '\f' || c == '\v'; }

// The words of `s` joined by one space.
std::string collapse(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        while (i < s.size() && is_space(s[i])) ++i;
        auto start = i;
        while (i < s.size() && !is_space(s[i])) ++i;
        if (i == start) break;
        if (!out.empty()) out += ' ';
        out.append(s.substr(start, i - start));
    }
    return out;
}

// `s` with every U+FEFF replaced by a space.
std::string without_bom(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        const bool is_bom = s.substr(i, bom.size()) == bom;
        out += is_bom ? ' ' : s[i];
        i += is_bom ? bom.size() : 1;
    }
    return out;
}

void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) cp = 0xfffd;
    if (cp < 0x80) {
        out += char(cp);
    } else if (cp < 0x800) {
        out += char(0xc0 | (cp >> 6));
        out += char(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        out += char(0xe0 | (cp >> 12));
        out += char(0x80 | ((cp >> 6) & 0x3f));
        out += char(0x80 | (cp & 0x3f));
    } else {
        out += char(0xf0 | (cp >> 18));
        out += char(0x80 | ((cp >> 12) & 0x3f));
        out += char(0x80 | ((cp >> 6) & 0x3f));
        out += char(0x80 | (cp & 0x3f));
    }
}

// The text a character reference stands for (`name` is what stands between '&' and ';'), or nothing.
std::optional<std::string> reference_text(std::string_view name) {
    constexpr std::pair<std::string_view, std::string_view> named[] = {
        {"amp", "&"}, {"lt", "<"}, {"gt", ">"}, {"quot", "\""}, {"apos", "'"}, {"nbsp", " "}};
    for (const auto& [n, text] : named)
        if (name == n) return std::string(text);
    if (name.size() < 2 || name[0] != '#') return std::nullopt;
    const bool hex = name[1] == 'x' || name[1] == 'X';
    auto digits = name.substr(hex ? 2 : 1);
    std::uint32_t cp = 0;
    auto r = std::from_chars(digits.data(), digits.data() + digits.size(), cp, hex ? 16 : 10);
    if (r.ec != std::errc{} || r.ptr != digits.data() + digits.size() || digits.empty()) return std::nullopt;
    std::string out;
    append_utf8(out, cp == 0xa0 ? ' ' : cp);
    return out;
}

// Decodes the character reference at html[i] ('&') into `out`; returns where the text goes on.
std::size_t decode_reference(std::string_view html, std::size_t i, std::string& out) {
    constexpr std::size_t longest = 10;  // "&#x10FFFF;" and every name above fit
    auto semi = html.find(';', i);
    if (semi != std::string_view::npos && semi - i <= longest)
        if (auto text = reference_text(html.substr(i + 1, semi - i - 1))) {
            out += *text;
            return semi + 1;
        }
    out += '&';
    return i + 1;
}

// Skips the tag at html[i] ('<'), and the content of a hidden element; returns where the text goes on.
std::size_t skip_tag(std::string_view html, std::size_t i, std::string& out) {
    if (html.substr(i, 4) == "<!--") {
        auto end = html.find("-->", i + 4);
        return end == std::string_view::npos ? html.size() : end + 3;
    }
    auto gt = html.find('>', i);
    if (gt == std::string_view::npos) return html.size();
    auto tag = html.substr(i + 1, gt - i - 1);
    const bool closing = !tag.empty() && tag[0] == '/';
    auto name_start = closing ? 1u : 0u;
    auto name_end = std::min(tag.find_first_of(" \t\r\n/>", name_start), tag.size());
    std::string name(tag.substr(name_start, name_end - name_start));
    ascii::to_lower(name);
    if (std::find(std::begin(inline_tags), std::end(inline_tags), name) == std::end(inline_tags)) out += ' ';
    if (closing || std::find(std::begin(hidden_tags), std::end(hidden_tags), name) == std::end(hidden_tags))
        return gt + 1;
    for (auto at = gt + 1;; ++at) {  // the element's end tag, in any case
        at = html.find("</", at);
        if (at == std::string_view::npos) return html.size();
        if (ascii::istarts_with(html.substr(at + 2), name)) return skip_tag(html, at, out);
    }
}

// `s` cut to at most `n` bytes, never inside a UTF-8 sequence.
std::string_view cut_utf8(std::string_view s, std::size_t n) {
    if (s.size() <= n) return s;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xc0) == 0x80) --n;
    return s.substr(0, n);
}

// The words of the text body, or of the HTML body when the text has none.
std::string body_words(std::string_view text, std::string_view html) {
    auto words = collapse(without_bom(text));
    return words.empty() ? html_to_text(html) : words;
}

bool names(const std::vector<inspect::address>& list, std::string_view address) {
    return std::any_of(list.begin(), list.end(), [&](const auto& a) { return ascii::iequals(a.address, address); });
}

}  // namespace

part_role role(const inspect::part_info& p) {
    if (p.content_type.starts_with("multipart/")) return part_role::body;
    if (p.attachment) return part_role::attachment;
    return p.filename.empty() && p.content_id.empty() ? part_role::body : part_role::inline_part;
}

std::string clean(std::string_view s) {
    std::string out = without_bom(s);
    for (auto& c : out) {
        if (std::string_view("\r\n\t<>\",;()").find(c) != std::string_view::npos) c = ' ';
        c = ascii::lower(c);
    }
    return collapse(out);
}

std::string html_to_text(std::string_view html) {
    std::string out;
    out.reserve(html.size());
    for (std::size_t i = 0; i < html.size();) {
        if (html[i] == '<') {
            i = skip_tag(html, i, out);
        } else if (html[i] == '&') {
            i = decode_reference(html, i, out);
        } else {
            out += html[i++];
        }
    }
    return collapse(out);
}

std::string snippet(std::string_view text, std::string_view html) {
    auto words = body_words(text, html);
    if (words.size() <= snippet_bytes) return words;
    return std::string(cut_utf8(words, snippet_bytes)) + "...";
}

std::uint64_t summary::bytes() const noexcept {
    auto n = sizeof *this + inspect::heap_bytes(subject) + inspect::heap_bytes(message_id) +
             inspect::heap_bytes(snippet) + inspect::heap_bytes(search_text) + inspect::heap_bytes(from.name) +
             inspect::heap_bytes(from.address);
    for (const auto* list : {&to, &cc, &bcc, &reply_to}) {
        n += list->capacity() * sizeof(inspect::address);
        for (const auto& a : *list) n += inspect::heap_bytes(a.name) + inspect::heap_bytes(a.address);
    }
    return n;
}

summary summarize(const sink::captured_message& m, const inspect::message_view& v) {
    summary s;
    if (v.from) s.from = *v.from;
    s.to = v.to;
    s.cc = v.cc;
    s.reply_to = v.reply_to;
    for (const auto& r : m.rcpt_to)
        if (!names(s.to, r) && !names(s.cc, r) && !names(s.bcc, r)) s.bcc.push_back({"", r});
    s.subject = v.subject;
    s.message_id = v.message_id;
    s.snippet = snippet(v.text, v.html);
    std::string text = s.from.name + ' ' + s.from.address + ' ' + s.subject + ' ' + m.mail_from + ' ';
    for (const auto* list : {&s.to, &s.cc, &s.bcc, &s.reply_to})
        for (const auto& a : *list) text += a.name + ' ' + a.address + ' ';
    text += body_words(v.text, v.html);
    for (const auto& p : v.parts) {
        auto r = role(p);
        if (r == part_role::attachment) ++s.attachments, text += ' ' + p.filename;
        if (r == part_role::inline_part) ++s.inlines;
    }
    s.search_text = clean(text);
    return s;
}

}  // namespace http::mailpit
