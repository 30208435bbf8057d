// One thread of the load generator: its io_context, its share of the connections and of the messages, its
// share of the --rate token bucket, a watchdog over reply deadlines, and the stop at --duration.
#pragma once
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <memory>
#include <vector>

#include "connection.hpp"
#include "options.hpp"
#include "stats.hpp"

namespace loadgen {

// What every thread shares, read-only during the run.
struct run_context {
    const plan& p;
    std::vector<transaction_bytes> txns;
    std::vector<tcp::endpoint> endpoints;  // one per --target
    std::unique_ptr<boost::asio::ssl::context> tls;
    std::string ehlo_line, auth_line;      // "EHLO name\r\n", "AUTH PLAIN b64\r\n"
    clock::time_point start{};
};

// After --duration, how long transactions in flight may take to finish before their connections are closed.
inline constexpr std::chrono::seconds stop_grace{2};
// How often reply deadlines are checked.
inline constexpr std::chrono::milliseconds watchdog_period{200};
// How long a connection that broke waits before it connects again.
inline constexpr std::chrono::milliseconds reconnect_delay{100};

class worker {
public:
    // `index`: this thread's number; `first_connection`, `connections`: its share; `quota`: its messages
    // (UINT64_MAX: until --duration).
    worker(const run_context& rc, unsigned index, unsigned first_connection, unsigned connections, std::uint64_t quota);
    void run();  // on the thread: until every connection is done

    // For connections.
    boost::asio::io_context& io() noexcept { return io_; }
    const run_context& rc() const noexcept { return rc_; }
    thread_stats& stats() noexcept { return stats_; }
    const thread_stats& stats() const noexcept { return stats_; }
    void idle(connection& c);            // c can start a transaction now
    bool take_now(std::size_t& flow, unsigned& attempt);  // closed loop only: the next message, if any
    bool wants_more() const noexcept;    // more messages will be started (reconnect if the connection ends)
    // Queues a message again (--retries); false once no more messages are started (--duration ended).
    bool retry(std::size_t flow, unsigned attempt);
    void reconnect_later(connection& c);
    void forget(connection& c);          // c is closing: not idle any more (--rate's waiting list)
    void connection_done();
    bool stopping() const noexcept { return stopping_; }

private:
    bool take(std::size_t& flow, unsigned& attempt);
    void rate_tick();
    void arm_rate();
    void watchdog();
    void stop();
    void hard_stop();
    void drop_retries();

    const run_context& rc_;
    unsigned index_;
    std::uint64_t quota_, started_ = 0;
    boost::asio::io_context io_{1};
    boost::asio::steady_timer watchdog_, rate_timer_, stop_timer_;
    std::vector<std::unique_ptr<connection>> conns_;
    std::deque<connection*> waiting_;  // idle connections waiting for a token (--rate)
    struct again {
        std::size_t flow;
        unsigned attempt;
    };
    std::deque<again> retries_;        // messages to send again, before new ones
    clock::duration interval_{};       // between messages of this thread under --rate
    clock::time_point next_due_{};
    bool rate_armed_ = false, stopping_ = false;
    unsigned live_ = 0;  // connections not finished
    thread_stats stats_;
};

}  // namespace loadgen
