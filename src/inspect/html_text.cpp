// The words of an HTML body, read with libxml2's HTML parser. See html_text.hpp.
#include "inspect/html_text.hpp"

#include <libxml/HTMLparser.h>
#include <libxml/parser.h>

#include <algorithm>
#include <climits>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "smtp/ascii.hpp"

namespace inspect {
namespace {

// Elements whose words run on into their neighbours' (no space is added around them).
constexpr std::string_view inline_elements[] = {"a",     "abbr", "b",    "big",  "cite",   "code",   "em",
                                                "font",  "i",    "mark", "q",    "s",      "small",  "span",
                                                "strike", "strong", "sub", "sup", "u"};
// Elements whose content is not read as text.
constexpr std::string_view hidden_elements[] = {"head", "script", "style", "title", "template", "noscript"};

bool among(std::string_view name, std::span<const std::string_view> set) {
    return std::find(set.begin(), set.end(), name) != set.end();
}

std::string_view name_of(const xmlNode* n) { return reinterpret_cast<const char*>(n->name); }

struct doc_free {
    void operator()(xmlDoc* d) const noexcept { xmlFreeDoc(d); }
};

// `s`'s words (split at ASCII white space and U+00A0) appended to `out`, one space between words.
void append_words(std::string_view s, std::string& out) {
    constexpr std::string_view nbsp = "\xc2\xa0";
    for (std::size_t i = 0; i < s.size();) {
        if (smtp::ascii::is_space(s[i]) || s[i] == '\f' || s[i] == '\v') {
            out += ' ';
            ++i;
        } else if (s.substr(i, nbsp.size()) == nbsp) {
            out += ' ';
            i += nbsp.size();
        } else {
            out += s[i++];
        }
    }
}

std::string collapse(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        if (c == ' ' && (out.empty() || out.back() == ' ')) continue;
        out += c;
    }
    if (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
}

}  // namespace

std::string html_words(std::string_view html) {
    static std::once_flag once;
    std::call_once(once, [] { xmlInitParser(); });
    if (html.empty()) return {};
    const int options = HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET;
    const int size = static_cast<int>(std::min<std::size_t>(html.size(), INT_MAX));
    std::unique_ptr<xmlDoc, doc_free> doc(htmlReadMemory(html.data(), size, nullptr, "UTF-8", options));
    if (!doc) return {};
    std::string text;
    text.reserve(html.size());
    // Depth first, without recursion; a block element's end is marked by a null entry that adds its space.
    std::vector<const xmlNode*> todo{xmlDocGetRootElement(doc.get())};
    while (!todo.empty()) {
        const xmlNode* n = todo.back();
        todo.pop_back();
        if (!n) {
            text += ' ';
            continue;
        }
        if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
            if (n->content) append_words(reinterpret_cast<const char*>(n->content), text);
            continue;
        }
        if (n->type != XML_ELEMENT_NODE || among(name_of(n), hidden_elements)) continue;
        if (!among(name_of(n), inline_elements)) {
            text += ' ';
            todo.push_back(nullptr);
        }
        std::size_t first = todo.size();
        for (const xmlNode* c = n->children; c; c = c->next) todo.push_back(c);
        std::reverse(todo.begin() + static_cast<std::ptrdiff_t>(first), todo.end());
    }
    return collapse(text);
}

}  // namespace inspect
