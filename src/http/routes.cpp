// Request targets (Boost.URL) and route matching. See routes.hpp.
#include "http/routes.hpp"

#include <boost/url/encode.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/rfc/pchars.hpp>
#include <charconv>
#include <ranges>

namespace http {
namespace {

namespace urls = boost::urls;

// What may stand unencoded in an origin-form target (RFC 3986 3.3 and 3.4), besides '%', whose escapes the parser
// checks. Anything else a client sent as it is (Beast passes all but spaces and controls) is encoded first.
constexpr urls::grammar::lut_chars as_sent = urls::pchars + "/?";

// The target with every byte that may not stand unencoded percent-encoded, its '%' escapes kept as they are
// (Boost.URL's encode requires a character set without '%': each piece between two '%' is encoded alone).
std::string encode_as_sent(std::string_view text) {
    std::string out;
    bool first = true;
    for (auto piece : std::views::split(text, '%')) {
        if (!first) out += '%';
        first = false;
        out += urls::encode(std::string_view(piece.begin(), piece.end()), as_sent);
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
    for (auto segment : url->segments())
        if (!segment.empty()) t.path.push_back(std::move(segment));
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
    for (auto piece : std::views::split(pattern, '/')) {
        std::string_view part(piece.begin(), piece.end());
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
