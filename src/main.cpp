// smtp-blackhole: start, serve until SIGTERM/SIGINT, print the final totals.
// Exit codes: 0 after a clean stop, 2 for a bad flag or a start-up failure (one line on stderr).
#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include "config.hpp"
#include "server/log.hpp"
#include "server/server.hpp"

namespace {

void log_totals(const sink::totals& t) {
    std::vector<std::pair<std::string, std::string>> kv{
        {"connections", std::to_string(t.connections)},
        {"connections_refused", std::to_string(t.connections_refused)},
        {"transactions", std::to_string(t.transactions)},
        {"recipients", std::to_string(t.recipients)},
        {"bytes", std::to_string(t.bytes)},
        {"refused", std::to_string(t.refused())},
        {"smuggling_suspects", std::to_string(t.smuggling_suspects)},
    };
    for (std::size_t code = 0; code < t.replies.size(); ++code)
        if (t.replies[code]) kv.emplace_back("replies_" + std::to_string(code), std::to_string(t.replies[code]));
    std::vector<server::log::field> fields;
    for (const auto& [k, v] : kv) fields.emplace_back(k, v);
    // The totals are printed whatever --log-level says.
    if (!server::log::enabled(server::log::level::info)) server::log::set_level(server::log::level::info);
    server::log::write(server::log::level::info, "totals", fields);
}

}  // namespace

int main(int argc, char** argv) {
    config::config c;
    try {
        c = config::parse(argc, argv);
    } catch (const config::error& e) {
        std::fprintf(stderr, "smtp-blackhole: %s (see --help)\n", e.what());
        return 2;
    }
    if (c.help) {
        std::fputs(c.help_text.c_str(), stdout);
        return 0;
    }
    if (c.version) {
        std::puts("smtp-blackhole " SMTP_BLACKHOLE_VERSION);
        return 0;
    }
    server::log::set_level(c.log_level);
    std::signal(SIGPIPE, SIG_IGN);
    try {
        server::server s(c.server);
        server::log::info("started", {{"threads", std::to_string(c.server.threads)},
                                      {"hostname", c.server.smtp.hostname}});
        s.run();
        log_totals(s.totals());
    } catch (const boost::system::system_error& e) {
        std::fprintf(stderr, "smtp-blackhole: cannot start: %s\n", e.what());
        return 2;
    }
    return 0;
}
