// Command-line values shared by the daemon and the load generator: sizes with binary units and HOST:PORT
// addresses. The standard library only; errors are std::invalid_argument, which each program turns into its
// own one-line usage error.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace cli {

// "64M", "64MiB", "64mb", "1048576", "512k": octets (binary multiples).
std::uint64_t parse_size(std::string_view s);

struct host_port {
    std::string host;  // without brackets
    std::string port;  // not yet checked: callers have their own rules (0 allowed for listeners, not targets)
};

// "host:port" or "[v6]:port". An IPv6 literal needs brackets, and the host cannot be empty.
host_port split_host_port(std::string_view s);

}  // namespace cli
