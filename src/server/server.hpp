// The server: workers (one io_context and thread each), their listeners, signals, drain and final totals.
#pragma once
#include <boost/asio/signal_set.hpp>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "http/api.hpp"
#include "http/mailpit.hpp"
#include "http/server.hpp"
#include "metrics/collector.hpp"
#include "server/settings.hpp"
#include "server/systemd.hpp"
#include "server/tls.hpp"
#include "server/worker.hpp"
#include "sink/counters.hpp"

namespace server {

class server {
public:
    // Loads or makes the TLS pair, reads --auth-users, binds every listener, and logs `listening PROTO
    // ADDR:PORT` once per listener. The sockets systemd passed serve their kind in place of its --*-listen
    // addresses. Throws std::runtime_error with a one-line reason.
    explicit server(const settings& s, const std::vector<systemd::passed_socket>& passed = {});
    ~server();
    // Serves until SIGTERM or SIGINT, then drains (RFC 5321 3.8: 421 to idle sessions) and returns. Tells
    // systemd (with NOTIFY_SOCKET) when it is ready, reloading and stopping.
    void run();
    sink::totals totals() const { return state_.hub.counters.sum(); }
    // Every flow seen since its last reset, by name (for the last log lines: a stopped sink's counts).
    std::vector<sink::flow_view> flows() const { return state_.hub.flows.list(); }
    const std::vector<tcp::endpoint>& smtp_endpoints() const noexcept { return endpoints_; }

private:
    void on_signal(const boost::system::error_code& ec, int sig);
    void wait_for_reload();
    void log_faults() const;
    void open_all_listeners(const settings& s, const std::vector<systemd::passed_socket>& passed);
    using acceptor_sink =
        std::function<void(std::size_t, std::unique_ptr<tcp::acceptor>, net::accept_loop::report)>;
    std::vector<tcp::endpoint> open_listeners(systemd::kind k, const std::vector<listen_address>& flags,
                                              const std::vector<systemd::passed_socket>& passed,
                                              const acceptor_sink& adopt);
    tcp::endpoint bind_everywhere(std::string_view proto, const listen_address& l, const acceptor_sink& adopt);
    tcp::endpoint share_everywhere(std::string_view proto, const systemd::passed_socket& p,
                                   const acceptor_sink& adopt);

    std::unique_ptr<tls_config> tls_;
    std::unique_ptr<const smtp::authenticator> auth_;
    shared_state state_;
    std::vector<std::unique_ptr<worker>> workers_;
    std::vector<tcp::endpoint> endpoints_;
    std::unique_ptr<metrics::exposition> metrics_;
    http::lifecycle life_;
    std::unique_ptr<http::api> api_;
    std::vector<std::unique_ptr<http::listener>> http_;  // one per worker
    std::unique_ptr<http::mailpit_api> mailpit_;         // with --mailpit-listen only
    std::vector<std::unique_ptr<http::listener>> mailpit_http_;  // one per worker, with --mailpit-listen only
    std::unique_ptr<asio::signal_set> signals_;
    std::unique_ptr<asio::signal_set> hangup_;  // SIGHUP: reload the TLS pair
    std::unique_ptr<systemd::notifier> notifier_;  // on worker 0; destroyed before the workers' io_contexts
};

// "127.0.0.1:2525" or "[::1]:2525".
std::string to_string(const tcp::endpoint& ep);

}  // namespace server
