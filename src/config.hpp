// The daemon's command line turned into a plain, validated configuration.
// Every flag, its default and its meaning are listed in the README; the defaults are those of a default
// configuration (server::settings, sink::options), written back as text for --help.
#pragma once
#include <string>

#include "cli/command_line.hpp"
#include "server/log.hpp"
#include "server/settings.hpp"

namespace config {

struct config {
    server::settings server;
    server::log::level log_level = server::log::level::info;
    bool max_connections_given = false;  // on the command line, not the default: only then is a low limit worth a warning
};

// The configuration with no flag given: settings' own defaults, the machine's cores and host name.
config defaults();
// The daemon's flags, each with its default from defaults().
void add_flags(cli::command_line& cl);
// The configuration the parsed flags describe; throws cli::usage_error for a bad value.
config read(const cli::command_line& cl);

// "127.0.0.1:2525", "[::1]:2525", "0.0.0.0:0"; throws cli::usage_error.
server::listen_address parse_listen(const std::string& s);

}  // namespace config
