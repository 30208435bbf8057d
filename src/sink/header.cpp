// Header section reading. See header.hpp.
#include "sink/header.hpp"

#include "smtp/command.hpp"

namespace sink {

std::string_view unfold(std::string_view folded, std::string& out) {
    out.clear();
    for (char c : folded)
        if (c != '\r' && c != '\n') out += c;
    std::string_view v = out;
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    return v;
}

std::string_view header_value(std::string_view header, std::string_view name, std::string& scratch) {
    std::string_view result;
    for_each_field(header, [&](std::string_view n, std::string_view folded) {
        if (!smtp::iequals(n, name)) return true;
        result = unfold(folded, scratch);
        return false;
    });
    return result;
}

std::vector<header_field> header_fields(std::string_view header) {
    std::vector<header_field> out;
    std::string scratch;
    for_each_field(header, [&](std::string_view n, std::string_view folded) {
        out.push_back({std::string(n), std::string(unfold(folded, scratch))});
        return true;
    });
    return out;
}

}  // namespace sink
