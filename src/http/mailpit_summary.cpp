// A captured message as Mailpit's list and search see it, and the text helpers of its search. See
// mailpit_summary.hpp.
#include "http/mailpit_summary.hpp"

#include <algorithm>
#include <cstdint>

#include "inspect/html_text.hpp"
#include "inspect/summary.hpp"
#include "smtp/ascii.hpp"

namespace http::mailpit {
namespace {

namespace ascii = smtp::ascii;

constexpr std::size_t snippet_bytes = 200;      // Mailpit's snippet limit
constexpr std::string_view bom = "\xef\xbb\xbf";  // U+FEFF, which Mailpit turns into a space

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

// `s` cut to at most `n` bytes, never inside a UTF-8 sequence.
std::string_view cut_utf8(std::string_view s, std::size_t n) {
    if (s.size() <= n) return s;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xc0) == 0x80) --n;
    return s.substr(0, n);
}

// The words of the text body, or of the HTML body when the text has none.
std::string body_words(std::string_view text, std::string_view html) {
    auto words = collapse(without_bom(text));
    return words.empty() ? inspect::html_words(html) : words;
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
