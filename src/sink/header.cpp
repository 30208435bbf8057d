// Header section reading. See header.hpp.
#include "sink/header.hpp"

#include "smtp/ascii.hpp"

namespace sink {

std::string_view unfold(std::string_view folded, std::string& out) {
    out.clear();
    for (char c : folded)
        if (c != '\r' && c != '\n') out += c;
    return smtp::ascii::trim(out);
}

std::string_view header_value(std::string_view header, std::string_view name, std::string& scratch) {
    std::string_view result;
    for_each_field(header, [&](std::string_view n, std::string_view folded) {
        if (!smtp::ascii::iequals(n, name)) return true;
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
