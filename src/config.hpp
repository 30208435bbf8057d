// The command line (cxxopts) turned into a plain, validated configuration.
// Every flag, its default and its meaning are listed in the README; parse() is the only place that reads them.
#pragma once
#include <stdexcept>
#include <string>
#include <vector>

#include "server/log.hpp"
#include "server/settings.hpp"

namespace config {

struct config {
    server::settings server;
    server::log::level log_level = server::log::level::info;
    bool max_connections_given = false;  // on the command line, not the default: only then is a low limit worth a warning
    bool help = false;
    bool version = false;
    std::string help_text;
};

// A bad flag or value: what() is one line saying which and why.
struct error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

config parse(int argc, const char* const* argv);

// "64M", "64MiB", "1048576", "512k": a size in octets (binary multiples).
std::uint64_t parse_size(const std::string& s);
// "300", "300s", "5m", "250ms", "1h", "1.5s": a duration (cli::parse_duration).
std::chrono::milliseconds parse_duration(const std::string& s);
// "127.0.0.1:2525", "[::1]:2525", "0.0.0.0:0".
server::listen_address parse_listen(const std::string& s);

}  // namespace config
