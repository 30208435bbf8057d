// Sizes and HOST:PORT values on the command line. See units.hpp.
#include "cli/units.hpp"

#include <charconv>
#include <stdexcept>

namespace cli {

std::uint64_t parse_size(std::string_view s) {
    std::uint64_t n = 0;
    auto r = std::from_chars(s.data(), s.data() + s.size(), n);
    if (r.ec != std::errc{} || r.ptr == s.data()) throw std::invalid_argument("bad size '" + std::string(s) + "'");
    std::string unit(r.ptr, s.data() + s.size());
    for (auto& c : unit) c = char(std::tolower(static_cast<unsigned char>(c)));
    std::uint64_t m = 0;
    if (unit.empty() || unit == "b")
        m = 1;
    else if (unit == "k" || unit == "kb" || unit == "kib")
        m = 1ull << 10;
    else if (unit == "m" || unit == "mb" || unit == "mib")
        m = 1ull << 20;
    else if (unit == "g" || unit == "gb" || unit == "gib")
        m = 1ull << 30;
    else
        throw std::invalid_argument("bad size unit in '" + std::string(s) + "' (use K, M or G)");
    if (n > UINT64_MAX / m) throw std::invalid_argument("size '" + std::string(s) + "' is too large");
    return n * m;
}

host_port split_host_port(std::string_view s) {
    host_port hp;
    if (!s.empty() && s.front() == '[') {
        auto close = s.find(']');
        if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':')
            throw std::invalid_argument("bad address '" + std::string(s) + "' (expected [v6]:PORT)");
        hp.host = s.substr(1, close - 1);
        hp.port = s.substr(close + 2);
    } else {
        auto colon = s.rfind(':');
        if (colon == std::string_view::npos || s.find(':') != colon)
            throw std::invalid_argument("bad address '" + std::string(s) + "' (expected HOST:PORT or [v6]:PORT)");
        hp.host = s.substr(0, colon);
        hp.port = s.substr(colon + 1);
    }
    if (hp.host.empty()) throw std::invalid_argument("bad address '" + std::string(s) + "': no host");
    return hp;
}

}  // namespace cli
