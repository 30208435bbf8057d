// Start, run and stop of the worker threads. See server.hpp.
#include "server/server.hpp"

#include <fcntl.h>
#include <sys/socket.h>

#include <algorithm>
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

namespace {

// What listener `proto` on `ep` of worker `worker` logs of its accept loop: a warning when descriptors (or memory)
// run out and one line when it accepts again, so that a long shortage is two lines, not ten a second.
net::accept_loop::report accept_log(std::string_view proto, const tcp::endpoint& ep, std::size_t worker) {
    struct where {
        std::string proto, addr, worker;
    };
    auto w = std::make_shared<const where>(where{std::string(proto), to_string(ep), std::to_string(worker)});
    return {
        .paused = [w](const boost::system::error_code& ec) {
            log::warn("accept paused", {{"proto", w->proto}, {"addr", w->addr}, {"worker", w->worker},
                                        {"error", ec.message()}});
        },
        .resumed = [w](std::size_t pauses) {
            log::info("accept resumed", {{"proto", w->proto}, {"addr", w->addr}, {"worker", w->worker},
                                         {"pauses", std::to_string(pauses)}});
        },
        .failed = [w](const boost::system::error_code& ec) {
            log::debug("accept failed", {{"proto", w->proto}, {"addr", w->addr}, {"error", ec.message()}});
        },
    };
}

}  // namespace

// Binds `l` on every worker (see open_acceptor), handing each acceptor to `adopt(worker index, acceptor, what it
// logs of its accept pauses)`,
// and logs `listening PROTO ADDR:PORT` once.
tcp::endpoint server::bind_everywhere(std::string_view proto, const listen_address& l, const acceptor_sink& adopt) {
    tcp::endpoint ep(asio::ip::make_address(l.host), l.port);
    try {
        ep = claim_port(ep);
        for (std::size_t i = 0; i < workers_.size(); ++i)
            adopt(i, open_acceptor(workers_[i]->context(), ep), accept_log(proto, ep, i));
    } catch (const boost::system::system_error& e) {
        throw std::runtime_error("cannot listen on " + to_string(ep) + ": " + e.code().message());
    }
    auto name = "listening " + std::string(proto) + " " + to_string(ep);
    log::info(name, {{"proto", proto}, {"addr", to_string(ep)}});
    return ep;
}

// Gives every worker an acceptor on the socket systemd passed (worker 0 the descriptor itself, the others a
// dup() of it: one listening socket, whose connections go to whichever worker accepts first), and logs
// `listening PROTO ADDR:PORT` once, with activated=systemd.
tcp::endpoint server::share_everywhere(std::string_view proto, const systemd::passed_socket& p,
                                       const acceptor_sink& adopt) {
    const auto protocol = p.family == AF_INET6 ? tcp::v6() : tcp::v4();
    tcp::endpoint ep;
    try {
        for (std::size_t i = 0; i < workers_.size(); ++i) {
            const int fd = i == 0 ? p.fd : ::fcntl(p.fd, F_DUPFD_CLOEXEC, 0);
            if (fd < 0) throw boost::system::system_error(errno, boost::system::system_category());
            auto a = std::make_unique<tcp::acceptor>(workers_[i]->context(), protocol, fd);
            ep = a->local_endpoint();
            adopt(i, std::move(a), accept_log(proto, ep, i));
        }
    } catch (const boost::system::system_error& e) {
        throw std::runtime_error("cannot use the " + std::string(proto) + " socket systemd passed: " +
                                 e.code().message());
    }
    auto name = "listening " + std::string(proto) + " " + to_string(ep);
    log::info(name, {{"proto", proto}, {"addr", to_string(ep)}, {"activated", "systemd"}});
    return ep;
}

// One kind's listeners: the sockets systemd passed for it if there are any (its --*-listen addresses, given or
// default, are then not bound: the socket units say where to listen), else its --*-listen addresses.
std::vector<tcp::endpoint> server::open_listeners(systemd::kind k, const std::vector<listen_address>& flags,
                                                  const std::vector<systemd::passed_socket>& passed,
                                                  const acceptor_sink& adopt) {
    const auto proto = systemd::name_of(k);
    std::vector<tcp::endpoint> out;
    for (const auto& p : passed)
        if (p.what == k) out.push_back(share_everywhere(proto, p, adopt));
    if (out.empty()) {
        for (const auto& l : flags) out.push_back(bind_everywhere(proto, l, adopt));
    } else if (!flags.empty()) {
        std::string skipped;
        for (const auto& l : flags) {
            if (!skipped.empty()) skipped += ',';
            skipped += to_string({asio::ip::make_address(l.host), l.port});
        }
        log::info("systemd passed the " + std::string(proto) + " sockets: --" + std::string(proto) +
                      "-listen not bound",
                  {{"skipped", skipped}});
    }
    return out;
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

// Every listener of every kind, each on every worker.
void server::open_all_listeners(const settings& s, const std::vector<systemd::passed_socket>& passed) {
    const auto smtp = [this](std::size_t i, auto a, auto r) { workers_[i]->adopt(std::move(a), false, std::move(r)); };
    endpoints_ = open_listeners(systemd::kind::smtp, s.smtp_listen, passed, smtp);
    const auto smtps = [this](std::size_t i, auto a, auto r) { workers_[i]->adopt(std::move(a), true, std::move(r)); };
    open_listeners(systemd::kind::smtps, s.smtps_listen, passed, smtps);
    open_listeners(systemd::kind::http, s.http_listen, passed, [this](std::size_t i, auto a, auto r) {
        http_[i]->adopt(std::move(a), std::move(r));
    });
    const bool mailpit_passed =
        std::any_of(passed.begin(), passed.end(), [](const auto& p) { return p.what == systemd::kind::mailpit; });
    if (!s.mailpit_listen.empty() || mailpit_passed) {
        mailpit_ = std::make_unique<http::mailpit_api>(state_.hub, state_.faults, life_);
        for (std::size_t i = 0; i < workers_.size(); ++i)
            mailpit_http_.push_back(std::make_unique<http::listener>(*mailpit_));
    }
    open_listeners(systemd::kind::mailpit, s.mailpit_listen, passed, [this](std::size_t i, auto a, auto r) {
        mailpit_http_[i]->adopt(std::move(a), std::move(r));
    });
}

server::server(const settings& s, const std::vector<systemd::passed_socket>& passed)
    : tls_(std::make_unique<tls_config>(s.tls_cert, s.tls_key, s.smtp.hostname, s.tls)), auth_(make_authenticator(s)),
      state_(with_security(s, auth_.get())) {
    state_.tls = tls_.get();
    log::info(s.tls_cert.empty() ? "TLS with a self-signed certificate" : "TLS certificate loaded",
              {{"sha256", tls_->fingerprint()}, {"hostname", s.smtp.hostname}});
    for (std::size_t i = 0; i < s.threads; ++i) workers_.push_back(std::make_unique<worker>(state_, i));
    metrics_ = std::make_unique<metrics::exposition>(
        state_.hub, state_.faults, [this] { return std::uint64_t(state_.active.load(std::memory_order_relaxed)); },
        SMTP_BLACKHOLE_VERSION);
    api_ = std::make_unique<http::api>(state_.hub, state_.faults, *metrics_, http::page::index_html, life_);
    log_faults();
    for (const auto& net : s.proxy_from) log::info("PROXY header required", {{"from", net.to_string()}});
    for (std::size_t i = 0; i < workers_.size(); ++i) http_.push_back(std::make_unique<http::listener>(*api_));
    open_all_listeners(s, passed);
    state_.hub.flows.set_full_warning([](std::size_t max) {
        log::warn("flow table full: new flows are counted under _overflow", {{"max_flows", std::to_string(max)}});
    });
    signals_ = std::make_unique<asio::signal_set>(workers_[0]->context(), SIGTERM, SIGINT);
    hangup_ = std::make_unique<asio::signal_set>(workers_[0]->context(), SIGHUP);
    std::vector<asio::io_context*> contexts;
    for (auto& w : workers_) contexts.push_back(&w->context());
    notifier_ = std::make_unique<systemd::notifier>(workers_[0]->context(), std::move(contexts), [this] {
        return systemd::status{state_.active.load(std::memory_order_relaxed), state_.hub.counters.sum().transactions,
                               life_.draining.load(std::memory_order_relaxed)};
    });
    state_.draining = workers_.size();
    // The last SMTP session is gone: the HTTP listeners, which answered /readyz with 503 meanwhile, stop too,
    // and each worker's loop runs out of work.
    state_.all_drained = [this] {
        asio::post(workers_[0]->context(), [this] {
            signals_->cancel();
            hangup_->cancel();
            notifier_->stop();
        });
        for (std::size_t i = 0; i < workers_.size(); ++i)
            asio::post(workers_[i]->context(), [this, i] {
                http_[i]->stop();
                if (!mailpit_http_.empty()) mailpit_http_[i]->stop();
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
    // Posted before the loops run: READY=1 goes out once every listener is open and the worker threads started.
    asio::post(workers_[0]->context(), [this] { notifier_->ready(); });
    std::vector<std::thread> threads;
    for (std::size_t i = 1; i < workers_.size(); ++i) threads.emplace_back([w = workers_[i].get()] { w->run(); });
    workers_[0]->run();
    for (auto& t : threads) t.join();
}

// SIGHUP: new handshakes use the reloaded pair, open sessions keep theirs; a bad pair keeps the old one.
void server::wait_for_reload() {
    hangup_->async_wait([this](const boost::system::error_code& ec, int) {
        if (ec) return;
        notifier_->reloading();
        if (auto why = tls_->reload(); why.empty())
            log::info("TLS certificate reloaded", {{"sha256", tls_->fingerprint()}});
        else
            log::error("TLS reload failed, keeping the old certificate", {{"error", why}});
        notifier_->reloaded();
        wait_for_reload();
    });
}

void server::on_signal(const boost::system::error_code& ec, int sig) {
    if (ec) return;
    log::info("stopping", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"},
                           {"drain_timeout_ms", std::to_string(state_.cfg.drain_timeout.count())}});
    life_.draining.store(true, std::memory_order_relaxed);
    notifier_->stopping();
    for (auto& w : workers_) asio::post(w->context(), [w = w.get()] { w->drain(); });
    api_->cancel_waits();
    // A second signal while draining stops waiting for sessions.
    signals_->async_wait([this](const boost::system::error_code& e, int) {
        if (e) return;
        log::warn("second signal: closing open sessions now");
        for (auto& w : workers_) asio::post(w->context(), [w = w.get()] { w->force_close_all(); });
    });
}

}  // namespace server
