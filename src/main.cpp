// smtp-blackhole: start, serve until SIGTERM/SIGINT, print the final totals and each flow's.
// Exit codes: 0 after a clean stop, 2 for a bad flag or a start-up failure (one line on stderr).
#include <csignal>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli/process.hpp"
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
        {"tls_handshakes", std::to_string(t.tls_ok)},
        {"tls_failed", std::to_string(t.tls_failed)},
        {"tls_resumed", std::to_string(t.tls_resumed)},
        {"starttls_plaintext_dropped", std::to_string(t.starttls_dropped)},
    };
    for (std::size_t code = 0; code < t.replies.size(); ++code)
        if (t.replies[code]) kv.emplace_back("replies_" + std::to_string(code), std::to_string(t.replies[code]));
    for (std::size_t i = 0; i < t.proxy_rejected.size(); ++i)
        if (t.proxy_rejected[i])
            kv.emplace_back("proxy_rejected_" + std::string(sink::proxy_rejections[i]), std::to_string(t.proxy_rejected[i]));
    std::vector<server::log::field> fields;
    for (const auto& [k, v] : kv) fields.emplace_back(k, v);
    // The totals are printed whatever --log-level says.
    if (!server::log::enabled(server::log::level::info)) server::log::set_level(server::log::level::info);
    server::log::write(server::log::level::info, "totals", fields);
}

// One line per flow before the totals, so a sink stopped in a rolling restart leaves its exact counts in the log.
void log_flows(const std::vector<sink::flow_view>& flows) {
    for (const auto& f : flows)
        server::log::write(server::log::level::info, "flow totals",
                           {{"flow", f.name},
                            {"messages", std::to_string(f.messages)},
                            {"recipients", std::to_string(f.recipients)},
                            {"bytes", std::to_string(f.bytes)},
                            {"refused", std::to_string(f.refused)}});
}

// Raises the soft descriptor limit to the hard one (a default start should never warn about defaults the user
// did not choose). Warns only when a --max-connections the user asked for cannot be met, and says what to change.
// Returns the soft limit in force, for the start line.
std::string prepare_descriptors(const config::config& c) {
    const auto lim = cli::raise_descriptor_limit();
    if (lim.soft == cli::unlimited) return "unlimited";
    const std::uint64_t needed = std::uint64_t(c.server.max_connections) + cli::reserved_descriptors;
    if (c.max_connections_given && lim.soft < needed)
        server::log::warn("the descriptor limit cannot hold --max-connections; accepting pauses when it is reached. "
                          "Raise the hard limit: LimitNOFILE= in the systemd unit, or `ulimit -n` before starting",
                          {{"nofile", std::to_string(lim.soft)},
                           {"max_connections", std::to_string(c.server.max_connections)},
                           {"needed", std::to_string(needed)}});
    return std::to_string(lim.soft);
}

}  // namespace

int main(int argc, char** argv) {
    cli::command_line cl("smtp-blackhole", "An SMTP sink: accepts mail fast, counts it exactly, keeps none of it.");
    config::add_flags(cl);
    cl.environment("SMTP_BLACKHOLE_", {"SMTP_BLACKHOLE_OPTS"});  // OPTS: the flags line of systemd/'s unit
    cl.list_separator("fault", ';');  // a rule holds commas itself
    config::config c;
    if (auto code = cl.parse(argc, argv, [&] { c = config::read(cl); })) return *code;
    server::log::set_level(c.log_level);
    std::signal(SIGPIPE, SIG_IGN);
    cli::map_allocations_above(c.server.sink.capture_max_message);  // the largest a capture buffer grows to
    const std::string nofile = prepare_descriptors(c);
    try {
        const auto passed = server::systemd::take_sockets();  // socket activation: LISTEN_FDS
        server::server s(c.server, passed);
        server::log::info("started", {{"threads", std::to_string(c.server.threads)},
                                      {"hostname", c.server.smtp.hostname},
                                      {"nofile", nofile},
                                      {"fault_seed", std::to_string(c.server.fault_seed)}});
        s.run();
        log_flows(s.flows());
        log_totals(s.totals());  // the last line
    } catch (const std::runtime_error& e) {  // start-up failures: a listener, a passed socket, a thread
        std::fprintf(stderr, "smtp-blackhole: cannot start: %s\n", e.what());
        return 2;
    }
    return 0;
}
