// Start, run and stop of the worker threads. See server.hpp.
#include "server/server.hpp"

#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <stdexcept>
#include <thread>

#include "http/page.hpp"
#include "server/auth.hpp"
#include "server/connection.hpp"
#include "server/log.hpp"

namespace server {

std::string to_string(const tcp::endpoint& ep) {
    auto a = ep.address().to_string();
    if (ep.address().is_v6()) a = "[" + a + "]";
    return a + ":" + std::to_string(ep.port());
}

// SO_REUSEPORT would let a second process (of the same user) share a port that is already served and take
// half its connections. A bind without it first proves the port free (and picks one for port 0).
tcp::endpoint claim_port(const tcp::endpoint& ep) {
    asio::io_context ctx;
    tcp::acceptor probe(ctx);
    probe.open(ep.protocol());
    probe.set_option(tcp::acceptor::reuse_address(true));  // TIME_WAIT leftovers are no reason to fail
    if (ep.address().is_v6()) probe.set_option(asio::ip::v6_only(true));
    probe.bind(ep);
    return probe.local_endpoint();
}

// Binds `l` on every worker (see open_acceptor), handing each acceptor to `adopt(worker index, acceptor)`,
// and logs `listening PROTO ADDR:PORT` once.
tcp::endpoint server::bind_everywhere(std::string_view proto, const listen_address& l,
                                      const std::function<void(std::size_t, std::unique_ptr<tcp::acceptor>)>& adopt) {
    tcp::endpoint ep(asio::ip::make_address(l.host), l.port);
    try {
        ep = claim_port(ep);
        for (std::size_t i = 0; i < workers_.size(); ++i) adopt(i, open_acceptor(workers_[i]->context(), ep));
    } catch (const boost::system::system_error& e) {
        throw std::runtime_error("cannot listen on " + to_string(ep) + ": " + e.code().message());
    }
    auto name = "listening " + std::string(proto) + " " + to_string(ep);
    log::info(name, {{"proto", proto}, {"addr", to_string(ep)}});
    return ep;
}

namespace {

std::unique_ptr<const smtp::authenticator> make_authenticator(const settings& s) {
    switch (s.auth) {
    case settings::auth_mode::none: return nullptr;
    case settings::auth_mode::any: return std::make_unique<auth_any>(s.smtp.hostname);
    case settings::auth_mode::users: return std::make_unique<auth_users>(s.auth_users_file, s.smtp.hostname);
    }
    return nullptr;
}

// The settings the sessions see: TLS is always available (a self-signed pair at worst), AUTH per --auth.
settings with_security(settings s, const smtp::authenticator* a) {
    s.smtp.tls_available = true;
    s.smtp.auth = a;
    return s;
}

}  // namespace

server::server(const settings& s)
    : tls_(std::make_unique<tls_config>(s.tls_cert, s.tls_key, s.smtp.hostname)), auth_(make_authenticator(s)),
      state_(with_security(s, auth_.get())) {
    state_.tls = tls_.get();
    log::info(s.tls_cert.empty() ? "TLS with a self-signed certificate" : "TLS certificate loaded",
              {{"sha256", tls_->fingerprint()}, {"hostname", s.smtp.hostname}});
    for (std::size_t i = 0; i < s.threads; ++i) workers_.push_back(std::make_unique<worker>(state_, i));
    metrics_ = std::make_unique<metrics::exposition>(
        state_.hub, state_.faults, [this] { return std::uint64_t(state_.active.load(std::memory_order_relaxed)); },
        SMTP_BLACKHOLE_VERSION);
    api_ = std::make_unique<http::api>(state_.hub, state_.faults, *metrics_, http::page::index_html);
    log_faults();
    for (auto& w : workers_) http_.push_back(std::make_unique<http::listener>(w->context(), *api_));
    for (const auto& l : s.smtp_listen)
        endpoints_.push_back(
            bind_everywhere("smtp", l, [this](std::size_t i, auto a) { workers_[i]->adopt(std::move(a), false); }));
    for (const auto& l : s.smtps_listen)
        bind_everywhere("smtps", l, [this](std::size_t i, auto a) { workers_[i]->adopt(std::move(a), true); });
    for (const auto& l : s.http_listen)
        bind_everywhere("http", l, [this](std::size_t i, auto a) { http_[i]->adopt(std::move(a)); });
    if (!s.mailpit_listen.empty()) {
        mailpit_ = std::make_unique<http::mailpit_api>(state_.hub);
        for (auto& w : workers_) mailpit_http_.push_back(std::make_unique<http::listener>(w->context(), *mailpit_));
    }
    for (const auto& l : s.mailpit_listen)
        bind_everywhere("mailpit", l, [this](std::size_t i, auto a) { mailpit_http_[i]->adopt(std::move(a)); });
    state_.hub.flows.set_full_warning([](std::size_t max) {
        log::warn("flow table full: new flows are counted under _overflow", {{"max_flows", std::to_string(max)}});
    });
    signals_ = std::make_unique<asio::signal_set>(workers_[0]->context(), SIGTERM, SIGINT);
    hangup_ = std::make_unique<asio::signal_set>(workers_[0]->context(), SIGHUP);
    state_.draining = workers_.size();
    state_.all_drained = [this] {
        asio::post(workers_[0]->context(), [this] {
            signals_->cancel();
            hangup_->cancel();
        });
    };
}

server::~server() = default;

// One line per --fault rule; a warning for a rule whose flow cannot match before stage message.
void server::log_faults() const {
    for (const auto& e : *state_.faults.current()) {
        const auto id = std::to_string(e->id), rule = e->r.describe(), note = fault::flow_note(e->r, state_.hub.key);
        if (note.empty())
            log::info("fault rule", {{"id", id}, {"rule", rule}});
        else
            log::warn("fault rule", {{"id", id}, {"rule", rule}, {"note", note}});
    }
}

void server::run() {
    signals_->async_wait([this](const boost::system::error_code& ec, int sig) { on_signal(ec, sig); });
    wait_for_reload();
    for (auto& w : workers_) w->start_accepting();
    for (auto& h : http_) h->start();
    for (auto& h : mailpit_http_) h->start();
    std::vector<std::thread> threads;
    for (std::size_t i = 1; i < workers_.size(); ++i) threads.emplace_back([w = workers_[i].get()] { w->run(); });
    workers_[0]->run();
    for (auto& t : threads) t.join();
}

// SIGHUP: new handshakes use the reloaded pair, open sessions keep theirs; a bad pair keeps the old one.
void server::wait_for_reload() {
    hangup_->async_wait([this](const boost::system::error_code& ec, int) {
        if (ec) return;
        if (auto why = tls_->reload(); why.empty())
            log::info("TLS certificate reloaded", {{"sha256", tls_->fingerprint()}});
        else
            log::error("TLS reload failed, keeping the old certificate", {{"error", why}});
        wait_for_reload();
    });
}

void server::on_signal(const boost::system::error_code& ec, int sig) {
    if (ec) return;
    log::info("stopping", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"},
                           {"drain_timeout_ms", std::to_string(state_.cfg.drain_timeout.count())}});
    for (auto& w : workers_) asio::post(w->context(), [w = w.get()] { w->drain(); });
    api_->cancel_waits();
    for (std::size_t i = 0; i < workers_.size(); ++i)
        asio::post(workers_[i]->context(), [this, i] {
            http_[i]->stop();
            if (!mailpit_http_.empty()) mailpit_http_[i]->stop();
        });
    // A second signal while draining stops waiting for sessions.
    signals_->async_wait([this](const boost::system::error_code& e, int) {
        if (e) return;
        log::warn("second signal: closing open sessions now");
        for (auto& w : workers_) asio::post(w->context(), [w = w.get()] { w->force_close_all(); });
    });
}

}  // namespace server
