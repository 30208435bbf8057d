// A small JSON reader (RFC 8259) for the sink's /api/v1/flows answer: values into a tree, strict syntax,
// nesting bounded. Not a general library: numbers are kept as doubles, \u escapes outside ASCII become '?'.
#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace loadgen::json {

struct value {
    enum class kind { null, boolean, number, string, array, object } type = kind::null;
    bool b = false;
    double n = 0;
    std::string s;
    std::vector<value> items;                            // array
    std::vector<std::pair<std::string, value>> members;  // object, in order

    const value* get(std::string_view key) const noexcept;  // an object's member, or nullptr
};

// Throws std::runtime_error with a short reason on bad input.
value parse(std::string_view text);

}  // namespace loadgen::json
