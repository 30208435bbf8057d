// Mailpit's search syntax over message summaries. See mailpit_search.hpp.
#include "http/mailpit_search.hpp"

#include <algorithm>
#include <optional>
#include <utility>

#include "smtp/ascii.hpp"

namespace http::mailpit {
namespace {

namespace ascii = smtp::ascii;
using field = search_term::field;

// Filters with a value, as Mailpit spells them (lower-case).
constexpr std::pair<std::string_view, field> valued[] = {
    {"to:", field::to},        {"from:", field::from},           {"cc:", field::cc},
    {"bcc:", field::bcc},      {"reply-to:", field::reply_to},   {"addressed:", field::addressed},
    {"subject:", field::subject}, {"message-id:", field::message_id}, {"tag:", field::tag}};
// Filters that are the whole argument.
constexpr std::pair<std::string_view, field> flags[] = {
    {"is:read", field::read},           {"is:unread", field::unread},          {"is:tagged", field::tagged},
    {"has:attachment", field::attachment}, {"has:attachments", field::attachment},
    {"has:inline", field::inline_part}, {"has:inlines", field::inline_part}};
constexpr std::string_view not_implemented[] = {"after:", "before:", "larger:", "smaller:"};

// Whether `needle` occurs in `hay`, ASCII letters compared without case.
bool icontains(std::string_view hay, std::string_view needle) {
    auto it = std::search(hay.begin(), hay.end(), needle.begin(), needle.end(),
                          [](char a, char b) { return ascii::lower(a) == ascii::lower(b); });
    return it != hay.end() || needle.empty();
}

bool has(const inspect::address& a, std::string_view w) { return icontains(a.name, w) || icontains(a.address, w); }

bool any_address(const std::vector<inspect::address>& list, std::string_view w) {
    return std::any_of(list.begin(), list.end(), [&](const auto& a) { return has(a, w); });
}

// One term, before its negation.
bool holds(const search_term& t, const summary& s, std::string_view flow, bool read) {
    const auto& w = t.value;
    switch (t.what) {
    case field::text: return s.search_text.find(w) != std::string::npos;
    case field::to: return any_address(s.to, w);
    case field::from: return has(s.from, w);
    case field::cc: return any_address(s.cc, w);
    case field::bcc: return any_address(s.bcc, w);
    case field::reply_to: return any_address(s.reply_to, w);
    case field::addressed:
        return has(s.from, w) || any_address(s.to, w) || any_address(s.cc, w) ||
               any_address(s.bcc, w) || any_address(s.reply_to, w);
    case field::subject: return icontains(s.subject, w);
    case field::message_id: return icontains(s.message_id, w);
    case field::tag: return ascii::iequals(flow, w);
    case field::read: return read;
    case field::unread: return !read;
    case field::tagged: return true;  // every message has its flow as a tag
    case field::attachment: return s.attachments > 0;
    case field::inline_part: return s.inlines > 0;
    }
    return false;
}

// The term one argument makes (nothing for an empty filter), noting a filter that is not implemented.
std::optional<search_term> term_of(std::string_view arg, std::string& unsupported) {
    search_term t;
    if (arg.size() > 1 && (arg[0] == '-' || arg[0] == '!')) {
        t.exclude = true;
        arg.remove_prefix(1);
    }
    for (const auto& [name, what] : flags)
        if (ascii::iequals(arg, name)) {
            t.what = what;
            return t;
        }
    for (auto name : not_implemented)
        if (ascii::istarts_with(arg, name)) {
            if (unsupported.empty()) unsupported = name;
            return std::nullopt;
        }
    for (const auto& [name, what] : valued)
        if (ascii::istarts_with(arg, name)) {
            auto v = arg.substr(name.size());
            t.what = what;
            t.value = what == field::subject ? std::string(v) : clean(v);
            if (t.value.empty()) return std::nullopt;
            return t;
        }
    t.value = clean(arg);
    return t;
}

}  // namespace

std::vector<std::string> split_query(std::string_view q) {
    std::vector<std::string> args;
    std::string arg;
    bool quoted = false;
    auto flush = [&] {
        auto v = ascii::trim(arg);
        if (!v.empty()) args.emplace_back(v);
        arg.clear();
    };
    for (char c : q) {
        if (c == '"') {
            quoted = !quoted;
        } else if (c == ' ' && !quoted) {
            flush();
        } else {
            arg += c;
        }
    }
    flush();
    return args;
}

search_query parse_query(std::string_view q) {
    search_query out;
    for (const auto& arg : split_query(q)) {
        if (clean(arg).empty()) continue;
        if (auto t = term_of(arg, out.unsupported)) out.terms.push_back(std::move(*t));
    }
    return out;
}

bool matches(const search_query& q, const summary& s, std::string_view flow, bool read) {
    return std::all_of(q.terms.begin(), q.terms.end(),
                       [&](const auto& t) { return holds(t, s, flow, read) != t.exclude; });
}

}  // namespace http::mailpit
