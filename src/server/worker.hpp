// One worker: an io_context run by one thread, its own SO_REUSEPORT acceptors (the kernel spreads
// connections over workers) or its dup() of each socket systemd passed, the connections it owns, and its own
// counters. Nothing is shared between workers on the SMTP path but the active-connection count.
#pragma once
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/intrusive/list.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "fault/table.hpp"
#include "net/accept_loop.hpp"
#include "server/settings.hpp"
#include "sink/sink.hpp"
#include "smtp/options.hpp"

namespace server {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// An acceptor bound to `ep` with SO_REUSEPORT (so that every worker can listen on the same address and the
// kernel spreads connections over them), listening. Throws boost::system::system_error.
std::unique_ptr<tcp::acceptor> open_acceptor(asio::io_context& ctx, const tcp::endpoint& ep);

// What all workers read: the configuration, the compiled SMTP profile, the counters.
struct shared_state {
    explicit shared_state(const settings& s)
        : cfg(s), profile(s.smtp), hub(s.sink, s.threads), faults(s.fault_seed) {
        faults.add(s.faults);
    }
    const settings cfg;
    const smtp::profile profile;
    sink::hub hub;
    fault::table faults;
    std::atomic<std::size_t> active{0};        // open connections, all workers (--max-connections)
    std::atomic<std::uint64_t> next_id{0};     // session ids
    std::atomic<std::size_t> draining{0};      // workers that have not finished draining
    std::function<void()> all_drained;         // called once, from the last worker to finish draining
    class tls_config* tls = nullptr;           // set by the server before the workers start
};

// A connection as the worker sees it: something to drain or to close.
class connection_base
    : public boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>> {
public:
    virtual ~connection_base() = default;
    virtual void drain() = 0;        // stop at the next transaction boundary with 421
    virtual void force_close() = 0;  // the drain time is over
};

class worker {
public:
    worker(shared_state& s, std::size_t index);
    worker(const worker&) = delete;
    worker& operator=(const worker&) = delete;

    asio::io_context& context() noexcept { return ctx_; }
    // Takes a bound, listening SMTP acceptor of this worker's io_context (see open_acceptor); `implicit_tls`
    // for an --smtps-listen port; `r` hears of its accept pauses.
    void adopt(std::unique_ptr<tcp::acceptor> a, bool implicit_tls, net::accept_loop::report r);
    void start_accepting();
    // Runs the event loop until every acceptor, connection and timer of this worker is gone.
    void run();
    // On this worker's thread: close the acceptors, ask sessions to finish, force them after drain_timeout.
    void drain();
    // Closes every connection now (the drain time is over, or a second signal came).
    void force_close_all();

    shared_state& common() noexcept { return s_; }
    sink::thread_counters& counters() noexcept { return counters_; }
    std::size_t index() const noexcept { return index_; }
    void attach(connection_base& c) noexcept;
    void detach(connection_base& c) noexcept;

private:
    // A connection one of its acceptors took.
    void on_accept(tcp::socket s, const tcp::endpoint& peer, bool implicit_tls);
    void refuse(tcp::socket& s);
    void finish_drain();

    shared_state& s_;
    const std::size_t index_;
    sink::thread_counters& counters_;
    // Run by this worker's thread alone, and every socket and timer on it is used only from that thread (other
    // threads post to it, which stays locked): so no lock per socket operation (UNSAFE_IO), which took a mutex
    // twice per read and write.
    asio::io_context ctx_{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
    std::vector<std::unique_ptr<net::accept_loop>> listeners_;
    boost::intrusive::list<connection_base, boost::intrusive::constant_time_size<false>> connections_;
    std::size_t open_ = 0;
    bool draining_ = false;
    bool drained_ = false;
    asio::steady_timer drain_timer_;
};

}  // namespace server
