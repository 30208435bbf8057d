// Accepting (through net::accept_loop, which waits out descriptor exhaustion) and owning connections on one
// worker thread, and draining them.
#include "server/worker.hpp"

#include <sys/socket.h>

#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>

#include "server/connection.hpp"
#include "server/log.hpp"

namespace server {
namespace {
constexpr int listen_backlog = 4096;
}  // namespace

worker::worker(shared_state& s, std::size_t index)
    : s_(s), index_(index), counters_(s.hub.counters.for_thread(index)), drain_timer_(ctx_) {}

std::unique_ptr<tcp::acceptor> open_acceptor(asio::io_context& ctx, const tcp::endpoint& ep) {
    auto a = std::make_unique<tcp::acceptor>(ctx);
    a->open(ep.protocol());
    a->set_option(tcp::acceptor::reuse_address(true));
    int one = 1;
    if (::setsockopt(a->native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
        throw boost::system::system_error(errno, boost::system::system_category(), "SO_REUSEPORT");
    if (ep.address().is_v6()) a->set_option(asio::ip::v6_only(true));
    a->bind(ep);
    a->listen(listen_backlog);
    return a;
}

void worker::adopt(std::unique_ptr<tcp::acceptor> a, bool implicit_tls, net::accept_loop::report r) {
    // Linux gives an accepted socket the listener's TCP_NODELAY: set once here rather than once per connection.
    // (Replies go out in one write per batch; Nagle would only hold back the next batch.)
    boost::system::error_code ignored;
    a->set_option(tcp::no_delay(true), ignored);
    listeners_.push_back(std::make_unique<net::accept_loop>(
        std::move(*a),
        [this, implicit_tls](tcp::socket s, const tcp::endpoint& peer) { on_accept(std::move(s), peer, implicit_tls); },
        std::move(r)));
}

void worker::start_accepting() {
    for (auto& l : listeners_) l->start();
}

void worker::run() { ctx_.run(); }

void worker::on_accept(tcp::socket s, const tcp::endpoint& peer, bool implicit_tls) {
    if (draining_) return;
    counters_.connections.add();
    if (s_.active.fetch_add(1, std::memory_order_relaxed) >= s_.cfg.max_connections) {
        s_.active.fetch_sub(1, std::memory_order_relaxed);
        return refuse(s);
    }
    boost::system::error_code ignored;
    s.non_blocking(true, ignored);
    auto id = s_.next_id.fetch_add(1, std::memory_order_relaxed) + 1;
    std::make_shared<connection>(*this, std::move(s), peer, id, implicit_tls)->start();
}

// Over --max-connections: one 421 (RFC 5321 3.1), written if the socket takes it at once, and close.
void worker::refuse(tcp::socket& s) {
    counters_.connections_refused.add();
    boost::system::error_code ec;
    s.non_blocking(true, ec);
    auto reply = s_.profile.replies().get(smtp::reply_id::too_many_connections);
    s.write_some(asio::buffer(reply.data(), reply.size()), ec);
    if (!ec) counters_.replies[421].add();
    s.shutdown(tcp::socket::shutdown_both, ec);
    s.close(ec);
}

void worker::attach(connection_base& c) noexcept {
    connections_.push_back(c);
    ++open_;
}

void worker::detach(connection_base& c) noexcept {
    c.unlink();
    --open_;
    s_.active.fetch_sub(1, std::memory_order_relaxed);
    if (draining_ && open_ == 0) finish_drain();
}

void worker::finish_drain() {
    if (drained_) return;
    drained_ = true;
    drain_timer_.cancel();
    if (s_.draining.fetch_sub(1) == 1 && s_.all_drained) s_.all_drained();
}

void worker::drain() {
    if (draining_) return;
    draining_ = true;
    for (auto& l : listeners_) l->stop();
    if (open_ == 0) return finish_drain();
    // Neither drain() nor force_close() unlinks a connection at once (that happens when its last
    // handler has run), so walking the list while calling them is safe.
    for (auto& c : connections_) c.drain();
    drain_timer_.expires_after(s_.cfg.drain_timeout);
    drain_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec) return;
        if (open_ > 0) log::warn("drain timeout: closing open sessions", {{"sessions", std::to_string(open_)}});
        force_close_all();
    });
}

void worker::force_close_all() {
    for (auto& c : connections_) c.force_close();
}

}  // namespace server
