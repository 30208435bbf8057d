// The words of an HTML body, as a reader sees them, for snippets and search: parsed by libxml2's HTML parser
// (tags, comments, character references and broken markup are its business, never ours), the content of head,
// title, script and style left out, block elements kept apart by a space, white space collapsed to one space.
#pragma once
#include <string>
#include <string_view>

namespace inspect {

// `html` (UTF-8) as its words joined by single spaces; no-break spaces count as spaces. Never throws.
std::string html_words(std::string_view html);

}  // namespace inspect
