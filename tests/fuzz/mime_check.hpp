// The properties the MIME viewer fuzzer checks, shared by the libFuzzer target and the replay test: any bytes go
// through the entry points the APIs use (inspect::parse whole and summary, inspect::part for every part and for
// ids that are not there, fold for search keys, html_words for snippets) without a crash; part ids are unique;
// a summary parse agrees with a whole one on what it reads; a part's content is as long as the tree says; and
// nothing grows past a bound of the input (a charset conversion at most triples a byte). Returns "" or what broke.
#pragma once
#include <set>
#include <string>
#include <string_view>

#include "inspect/html_text.hpp"
#include "inspect/message.hpp"
#include "inspect/summary.hpp"

namespace fuzz {

inline std::string check_mime_input(std::string_view raw) {
    const std::size_t bound = 4 * raw.size() + 64;
    auto whole = inspect::parse(raw);
    auto brief = inspect::parse(raw, inspect::depth::summary);
    if (brief.subject != whole.subject || brief.from != whole.from || brief.to != whole.to ||
        brief.attachments != whole.attachments || brief.parts.size() != whole.parts.size())
        return "the summary parse disagrees with the whole one";
    for (const auto* s : {&whole.subject, &whole.text, &whole.html, &whole.message_id})
        if (s->size() > bound) return "a field longer than the bound";
    if (inspect::fold(whole.subject).size() > 3 * bound || inspect::html_words(whole.html).size() > 3 * whole.html.size() + 16)
        return "a search key or snippet longer than its source";
    std::set<std::string> ids;
    std::size_t attachments = 0;
    for (const auto& p : whole.parts) {
        if (!ids.insert(p.id).second) return "part id twice: " + p.id;
        attachments += p.attachment;
        auto content = inspect::part(raw, p.id);
        if (p.content_type.starts_with("multipart/")) {
            if (content) return "content for a multipart: " + p.id;
            continue;
        }
        if (!content) return "no content for part " + p.id;
        if (content->info != p) return "part " + p.id + " reads otherwise alone";
        if (content->data.size() != p.size || p.size > bound) return "part " + p.id + " has a size other than its content";
    }
    if (attachments != whole.attachments) return "attachments miscounted";
    for (std::string_view id : {"", "0", "1.0", "99", "1..1", "-1", "1.1.1.1.1.1.1.1"})
        if (!ids.contains(std::string(id)) && inspect::part(raw, id)) return "content for a part that is not there";
    return "";
}

}  // namespace fuzz
