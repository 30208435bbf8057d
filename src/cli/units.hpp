// Command-line values shared by the daemon and the load generator: sizes with binary units, durations and
// HOST:PORT addresses, and the text that reads back as a given size or duration (for defaults in --help).
// The standard library only; errors are std::invalid_argument, which the programs turn into usage errors.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace cli {

// "64M", "64MiB", "64mb", "1048576", "512k": octets (binary multiples).
std::uint64_t parse_size(std::string_view s);
// The text parse_size reads back as n, in the largest unit that divides it: "64M", "1M", "1000".
std::string format_size(std::uint64_t n);

// "300", "300s", "5m", "250ms", "1h", "1.5s": seconds unless a unit says otherwise (ms, s, m, h, in any case).
// A fraction is rounded up to whole milliseconds, so no value above 0 becomes 0. At most a year.
std::chrono::milliseconds parse_duration(std::string_view s);
// The text parse_duration reads back as d: "300s", "250ms".
std::string format_duration(std::chrono::milliseconds d);

// A number as short as it can be written and read back the same: 1.0 -> "1", 0.25 -> "0.25".
std::string format_number(double v);

struct host_port {
    std::string host;  // without brackets
    std::string port;  // not yet checked: callers have their own rules (0 allowed for listeners, not targets)
};

// "host:port" or "[v6]:port". An IPv6 literal needs brackets, and the host cannot be empty.
host_port split_host_port(std::string_view s);

}  // namespace cli
