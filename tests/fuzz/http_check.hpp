// The properties the HTTP API fuzzer checks, shared by the libFuzzer target and the replay test: any bytes go
// through Beast's request parser with the API's bounds (http/rejection.hpp); bytes it refuses get an answer of
// 400, 413 or 431, never a silent close; a parsed request's target is read by parse_target (both ways the two
// APIs read queries) into non-empty decoded segments that read back the same once encoded again, and routed
// through patterns of every shape the route tables use: a matching pattern takes one argument per "{...}", a
// "{name:uint}" one a number, and find_route answers with a row for the method or 404/405. Returns "" or what broke.
#pragma once
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <algorithm>
#include <array>
#include <string>
#include <string_view>

#include "http/rejection.hpp"
#include "http/routes.hpp"

namespace fuzz {

namespace bhttp = boost::beast::http;

struct http_row {
    http::method_set methods;
    std::string_view pattern;
};

// One row of each shape of the API's and the Mailpit API's tables (src/http/api.cpp, mailpit.cpp).
inline constexpr std::array<http_row, 9> http_rows = {{
    {http::method(bhttp::verb::get), "/"},
    {http::method(bhttp::verb::get), "/api/v1/flows"},
    {http::method(bhttp::verb::delete_), "/api/v1/flows"},
    {http::method(bhttp::verb::get), "/api/v1/flows/{flow}/wait"},
    {http::method(bhttp::verb::get), "/api/v1/messages/{id:uint}"},
    {http::method(bhttp::verb::get), "/api/v1/messages/{id:uint}/parts/{part}"},
    {http::method(bhttp::verb::post), "/api/v1/faults"},
    {http::method(bhttp::verb::get) | http::method(bhttp::verb::put), "/api/v1/tags"},
    {http::method(bhttp::verb::put) | http::method(bhttp::verb::delete_), "/api/v1/tags/{tag}"},
}};

// `s` with every byte but RFC 3986's unreserved ones percent-encoded.
inline std::string encode_all(std::string_view s) {
    if (s == "." || s == "..") return s == "." ? "%2E" : "%2E%2E";  // a name, not a dot segment
    return boost::urls::encode(s, boost::urls::unreserved_chars);
}

// What is wrong with the route of `t` for method `m`, or "".
inline std::string check_route(const http::target& t, bhttp::verb m) {
    std::vector<std::string_view> args;
    for (const auto& row : http_rows) {
        if (!http::match(row.pattern, t.path, args)) continue;
        if (args.size() != static_cast<std::size_t>(std::count(row.pattern.begin(), row.pattern.end(), '{'))) return "arguments miscounted";
        std::uint64_t n = 0;
        if (row.pattern.find(":uint}") != std::string_view::npos && !http::parse_uint(args[0], n))
            return "a {name:uint} that is not a number";
    }
    auto miss = bhttp::status::ok;
    const auto* row = http::find_route(std::span<const http::route<int>>(), t, m, args, miss);
    if (row || miss != bhttp::status::not_found) return "an empty table routes";
    std::array<http::route<int>, http_rows.size()> table;
    for (std::size_t i = 0; i < table.size(); ++i) table[i] = {http_rows[i].methods, http_rows[i].pattern, int(i)};
    row = http::find_route(std::span<const http::route<int>>(table), t, m, args, miss);
    if (row && !(row->methods & http::method(m))) return "a row for another method";
    if (!row && miss != bhttp::status::not_found && miss != bhttp::status::method_not_allowed) return "a bad miss";
    return "";
}

// What is wrong with how `text` reads as a target, or "".
inline std::string check_target(std::string_view text, bhttp::verb m) {
    for (bool plus_is_space : {false, true}) {
        auto t = http::parse_target(text, plus_is_space);
        if (!t) continue;
        std::string again;
        for (const auto& s : t->path) {
            if (s.empty()) return "an empty segment";
            again += "/" + encode_all(s);
        }
        if (again.empty()) again = "/";
        for (std::size_t i = 0; i < t->query.size(); ++i)
            again += (i ? "&" : "?") + encode_all(t->query[i].first) + "=" + encode_all(t->query[i].second);
        auto back = http::parse_target(again, plus_is_space);
        if (!back || back->path != t->path) return "the path does not read back: " + again;
        for (std::size_t i = 0; i < t->query.size(); ++i)
            if (!back->param(t->query[i].first)) return "a parameter that does not read back: " + again;
        if (auto p = check_route(*t, m); !p.empty()) return p;
    }
    return "";
}

// The whole input is what a client sent on one connection; only its first request is read.
inline std::string check_http_input(std::string_view bytes) {
    bhttp::request_parser<bhttp::string_body> parser;
    http::set_limits(parser, http::api_body_limit);
    boost::system::error_code ec;
    std::size_t used = 0;
    while (!ec && !parser.is_done() && used < bytes.size()) {
        auto n = parser.put(boost::asio::const_buffer(bytes.data() + used, bytes.size() - used), ec);
        if (ec == bhttp::error::need_more) ec = {};
        if (n == 0 && !ec) break;  // waits for more than there is
        used += n;
    }
    if (ec) {
        auto r = http::reject(ec, http::api_body_limit);
        if (!r) return "a refusal without an answer: " + ec.message();
        auto s = r->status;
        if (s != bhttp::status::bad_request && s != bhttp::status::payload_too_large &&
            s != bhttp::status::request_header_fields_too_large)
            return "a refusal answered " + std::to_string(unsigned(s));
        return "";
    }
    if (!parser.is_header_done()) return "";
    const auto& req = parser.get();
    return check_target(req.target(), req.method());
}

}  // namespace fuzz
