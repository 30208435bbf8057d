// Request targets (Boost.URL) and route matching. See routes.hpp.
#include "http/routes.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/rfc/pchars.hpp>
#include <algorithm>
#include <charconv>

namespace http {
namespace {

namespace urls = boost::urls;

// What may stand unencoded in an origin-form target (RFC 3986 3.3 and 3.4), and '%', whose escapes the parser
// checks. Anything else a client sent as it is (Beast passes all but spaces and controls) is encoded first.
constexpr urls::grammar::lut_chars as_sent = urls::pchars + "/?%";

// `text` with every byte outside as_sent percent-encoded. By hand: urls::encode asserts that '%' is not among the
// bytes it keeps, so a debug build aborted on a target such as "/a%zz{" (found by tests/fuzz/http_fuzz.cpp).
std::string encode_as_sent(std::string_view text) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (char c : text) {
        auto u = static_cast<unsigned char>(c);
        if (as_sent(c)) out += c;
        else out.append(1, '%').append(1, hex[u >> 4]).append(1, hex[u & 15]);
    }
    return out;
}

}  // namespace

const std::string* target::param(std::string_view key) const {
    for (const auto& [k, v] : query)
        if (k == key) return &v;
    return nullptr;
}

std::optional<target> parse_target(std::string_view text, bool plus_is_space) {
    std::string path_form;
    if (text.empty() || text.front() != '/') {
        path_form = "/";
        path_form += text;
        text = path_form;
    }
    auto url = urls::parse_origin_form(text);
    std::string encoded;
    if (!url) {
        encoded = encode_as_sent(text);
        url = urls::parse_origin_form(encoded);
    }
    if (!url) return std::nullopt;
    target t;
    // Dot segments sent as they are resolve as RFC 3986 5.2.4 says ("." goes, ".." takes the one before with it);
    // escaped ones ("%2E%2E") are names, as "%2F" is a slash in a name: a flow may be called "..".
    for (auto segment : url->encoded_segments()) {
        if (segment == ".") continue;
        if (segment == "..") {
            if (!t.path.empty()) t.path.pop_back();
            continue;
        }
        if (!segment.empty()) t.path.push_back(segment.decode());
    }
    for (auto p : url->params(urls::encoding_opts{plus_is_space}))
        if (!p.key.empty() || p.has_value) t.query.emplace_back(std::move(p.key), std::move(p.value));
    return t;
}

bool parse_uint(std::string_view s, std::uint64_t& out) {
    auto r = std::from_chars(s.data(), s.data() + s.size(), out);
    return r.ec == std::errc{} && r.ptr == s.data() + s.size() && !s.empty();
}

bool match(std::string_view pattern, const std::vector<std::string>& path, std::vector<std::string_view>& args) {
    args.clear();
    std::size_t i = 0;
    // Its segments by hand: clang 14's <ranges> cannot split a string_view (so fuzz builds could not use it).
    for (std::size_t at = 0, end = 0; at < pattern.size(); at = end + 1) {
        end = std::min(pattern.find('/', at), pattern.size());
        auto part = pattern.substr(at, end - at);
        if (part.empty()) continue;
        if (i == path.size()) return false;
        const std::string& segment = path[i++];
        if (!part.starts_with('{')) {
            if (part != segment) return false;
            continue;
        }
        std::uint64_t number = 0;
        if (part.ends_with(":uint}") && !parse_uint(segment, number)) return false;
        args.push_back(segment);
    }
    return i == path.size();
}

}  // namespace http
