// Sizes, durations and HOST:PORT values on the command line. See units.hpp.
#include "cli/units.hpp"

#include <charconv>
#include <stdexcept>
#include <utility>

#include "smtp/ascii.hpp"  // header-only: cli links nothing of smtp/

namespace cli {
namespace {

constexpr std::chrono::milliseconds longest_duration = std::chrono::hours(24 * 365);
constexpr std::uint64_t most_decimals = 1'000'000'000'000;  // 10^12: decimals past the 12th only round up

// Milliseconds in one unit of a duration (none: seconds); 0 for an unknown unit.
std::uint64_t duration_unit(std::string_view text) {
    std::string unit(text);
    smtp::ascii::to_lower(unit);
    if (unit.empty() || unit == "s") return 1000;
    if (unit == "ms") return 1;
    if (unit == "m") return 60'000;
    if (unit == "h") return 3'600'000;
    return 0;
}

}  // namespace

std::uint64_t parse_size(std::string_view s) {
    std::uint64_t n = 0;
    auto r = std::from_chars(s.data(), s.data() + s.size(), n);
    if (r.ec != std::errc{} || r.ptr == s.data()) throw std::invalid_argument("bad size '" + std::string(s) + "'");
    std::string unit(r.ptr, s.data() + s.size());
    smtp::ascii::to_lower(unit);
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

std::string format_size(std::uint64_t n) {
    for (auto [shift, unit] : {std::pair{30, "G"}, std::pair{20, "M"}, std::pair{10, "K"}})
        if (n != 0 && n % (1ull << shift) == 0) return std::to_string(n >> shift) + unit;
    return std::to_string(n);
}

std::chrono::milliseconds parse_duration(std::string_view s) {
    std::string quoted(1, '\'');
    quoted.append(s).push_back('\'');
    std::uint64_t whole = 0, decimals = 0, scale = 1;  // the number is whole + decimals / scale
    bool digits = false, beyond = false;              // beyond: a nonzero decimal past the 12th
    std::size_t i = 0;
    for (; i < s.size() && smtp::ascii::is_digit(s[i]); ++i, digits = true) {
        if (whole > (UINT64_MAX - 9) / 10) throw std::invalid_argument("duration " + quoted + " is too large");
        whole = whole * 10 + std::uint64_t(s[i] - '0');
    }
    if (i < s.size() && s[i] == '.')
        for (++i; i < s.size() && smtp::ascii::is_digit(s[i]); ++i, digits = true) {
            if (scale < most_decimals)
                decimals = decimals * 10 + std::uint64_t(s[i] - '0'), scale *= 10;
            else
                beyond |= s[i] != '0';
        }
    if (!digits) throw std::invalid_argument("bad duration " + quoted);
    const std::uint64_t unit = duration_unit(s.substr(i));
    if (unit == 0) throw std::invalid_argument("bad duration unit in " + quoted + " (use ms, s, m or h)");
    const auto most = std::uint64_t(longest_duration.count());
    if (whole > most / unit) throw std::invalid_argument("duration " + quoted + " is too large");
    // unit * decimals < 3.6e6 * 1e12 fits in 64 bits; rounded up to the next millisecond.
    const std::uint64_t ms = whole * unit + (decimals * unit + (beyond ? 1 : 0) + scale - 1) / scale;
    if (ms > most) throw std::invalid_argument("duration " + quoted + " is too large");
    return std::chrono::milliseconds(ms);
}

std::string format_duration(std::chrono::milliseconds d) {
    if (d.count() % 1000 != 0) return std::to_string(d.count()) + "ms";
    return std::to_string(d.count() / 1000) + "s";
}

std::string format_number(double v) {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, r.ptr);
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
