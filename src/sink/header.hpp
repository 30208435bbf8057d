// Reading a header section (RFC 5322 2.2): fields in order, names compared case-insensitively, values
// unfolded (2.2.3: each line break before white space is removed) and trimmed. Bare LF line ends are taken too.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "smtp/ascii.hpp"

namespace sink {

struct header_field {
    std::string name, value;
};

// Calls f(name, folded) for each field until f returns false; `folded` is the value as it stands in the
// header, continuation lines included. Stops at the empty line that ends the section.
template <class F>
void for_each_field(std::string_view header, F&& f) {
    std::size_t pos = 0;
    auto next_line = [&](std::size_t from) {
        auto eol = header.find('\n', from);
        return eol == std::string_view::npos ? header.size() : eol + 1;
    };
    while (pos < header.size()) {
        auto end = next_line(pos);
        auto line = header.substr(pos, end - pos);
        if (line == "\r\n" || line == "\n") return;
        auto colon = line.find(':');
        auto start = pos;
        pos = end;
        if (smtp::ascii::is_wsp(line[0]) || colon == std::string_view::npos) continue;  // stray line
        while (pos < header.size() && smtp::ascii::is_wsp(header[pos])) pos = next_line(pos);
        auto name = smtp::ascii::trim_right(line.substr(0, colon));
        if (!f(name, header.substr(start + colon + 1, pos - start - colon - 1))) return;
    }
}

// The unfolded, trimmed value of a folded value, in `out` (whose capacity is reused).
std::string_view unfold(std::string_view folded, std::string& out);

// The unfolded, trimmed value of the first `name` field (case-insensitive), or "" if none. May live in `scratch`.
std::string_view header_value(std::string_view header, std::string_view name, std::string& scratch);

// Every field, in order, unfolded.
std::vector<header_field> header_fields(std::string_view header);

}  // namespace sink
