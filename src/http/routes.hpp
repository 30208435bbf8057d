// Request targets and route tables: a target is read with Boost.URL (RFC 3986 origin-form: percent-decoded path
// segments and query parameters) and matched against rows of {methods, path pattern, handler}, in one place that
// also says 404 (no row has this path) or 405 (rows have it, none for this method). What a row does is api's.
#pragma once
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace http {

// A request target, decoded.
struct target {
    std::vector<std::string> path;  // the non-empty segments, decoded: "/a%2Fb//c/" is "a/b", "c"; "/a/./b/../c" is
                                    // "a", "c", "/%2E%2E" is ".."
    std::vector<std::pair<std::string, std::string>> query;  // decoded, in order; '+' stays a plus
    // The first value of parameter `key`, or nullptr.
    const std::string* param(std::string_view key) const;
};

// The target of a request, or nothing when its percent-encoding is bad. Characters RFC 3986 leaves out of a
// path and query (a space, '"', '{', '#', bytes over 0x7f...) stand for themselves, and a target that is not a
// path ('*', an absolute URL) is read as one, so it matches no route. A '+' in the query stays a plus, unless
// `plus_is_space` (HTML form encoding, which Mailpit's clients use: URLSearchParams writes a space as '+').
std::optional<target> parse_target(std::string_view text, bool plus_is_space = false);

// A decimal number of at most 64 bits, digits only.
bool parse_uint(std::string_view s, std::uint64_t& out);

// HTTP methods as a set of bits, for a route's row: method(get) | method(delete_).
using method_set = std::uint64_t;
constexpr method_set method(boost::beast::http::verb v) { return method_set{1} << static_cast<unsigned>(v); }

// Whether `path` fits `pattern`, such as "/api/v1/flows/{flow}/wait": a literal segment must be equal, "{name}"
// takes any one segment and "{name:uint}" one that parse_uint reads. The taken segments go to `args`, in order.
bool match(std::string_view pattern, const std::vector<std::string>& path, std::vector<std::string_view>& args);

// A row of a route table.
template <class Handler>
struct route {
    method_set methods;
    std::string_view pattern;
    Handler handler;
};

// The row for this path and method; or nullptr and in `miss` 404 (no row has the path) or 405.
template <class Handler>
const route<Handler>* find_route(std::span<const route<Handler>> table, const target& t,
                                 boost::beast::http::verb m, std::vector<std::string_view>& args,
                                 boost::beast::http::status& miss) {
    miss = boost::beast::http::status::not_found;
    for (const auto& row : table) {
        if (!match(row.pattern, t.path, args)) continue;
        if (row.methods & method(m)) return &row;
        miss = boost::beast::http::status::method_not_allowed;
    }
    return nullptr;
}

}  // namespace http
