// Start, run and stop of the worker threads. See server.hpp.
#include "server/server.hpp"

#include <boost/asio/post.hpp>
#include <thread>

#include "server/log.hpp"

namespace server {

std::string to_string(const tcp::endpoint& ep) {
    auto a = ep.address().to_string();
    if (ep.address().is_v6()) a = "[" + a + "]";
    return a + ":" + std::to_string(ep.port());
}

server::server(const settings& s) : state_(s) {
    for (std::size_t i = 0; i < s.threads; ++i) workers_.push_back(std::make_unique<worker>(state_, i));
    for (const auto& l : s.smtp_listen) {
        tcp::endpoint ep(asio::ip::make_address(l.host), l.port);
        // The first worker's bind picks the port when 0 was asked for; the others join it (SO_REUSEPORT).
        ep = workers_[0]->listen(ep);
        for (std::size_t i = 1; i < workers_.size(); ++i) workers_[i]->listen(ep);
        endpoints_.push_back(ep);
        log::info("listening smtp " + to_string(ep), {{"proto", "smtp"}, {"addr", to_string(ep)}});
    }
    signals_ = std::make_unique<asio::signal_set>(workers_[0]->context(), SIGTERM, SIGINT);
    state_.draining = workers_.size();
    state_.all_drained = [this] {
        asio::post(workers_[0]->context(), [this] { signals_->cancel(); });
    };
}

server::~server() = default;

void server::run() {
    signals_->async_wait([this](const boost::system::error_code& ec, int sig) { on_signal(ec, sig); });
    for (auto& w : workers_) w->start_accepting();
    std::vector<std::thread> threads;
    for (std::size_t i = 1; i < workers_.size(); ++i) threads.emplace_back([w = workers_[i].get()] { w->run(); });
    workers_[0]->run();
    for (auto& t : threads) t.join();
}

void server::on_signal(const boost::system::error_code& ec, int sig) {
    if (ec) return;
    log::info("stopping", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"},
                           {"drain_timeout_ms", std::to_string(state_.cfg.drain_timeout.count())}});
    for (auto& w : workers_) asio::post(w->context(), [w = w.get()] { w->drain(); });
    // A second signal while draining stops waiting for sessions.
    signals_->async_wait([this](const boost::system::error_code& e, int) {
        if (e) return;
        log::warn("second signal: closing open sessions now");
        for (auto& w : workers_) asio::post(w->context(), [w = w.get()] { w->force_close_all(); });
    });
}

}  // namespace server
