// One SMTP connection: the pump between a socket and a sans-IO smtp::session, its watchdog, and TLS.
// Read, feed every complete unit, write the batch of replies once, read again (RFC 2920: one write per
// pipelined batch). The same pump runs over plain TCP and over TLS: STARTTLS (RFC 3207) switches a live
// connection from one to the other, so the switch is a pointer, not a type. Deadlines (RFC 5321 4.5.3.2) come
// from one timer per connection that only re-arms when it fires. With --proxy-protocol-from, a trusted peer's
// PROXY header is read first (before the greeting, or before the TLS ClientHello on an smtps listener), and
// every other peer is closed before the greeting.
#pragma once
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>

#include "net/tls_stream.hpp"
#include "server/worker.hpp"
#include "fault/observer.hpp"
#include "proxy/parser.hpp"
#include "smtp/session.hpp"

namespace server {

// The read buffer starts small (idle connections cost little) and grows while reads fill it (a message body at
// once to the largest size); between messages it goes back to its first size when a read leaves it mostly
// empty, so a connection that sent one big message does not keep 64 KiB.
inline constexpr std::size_t initial_read_buffer = 4096;
inline constexpr std::size_t max_read_buffer = 64 * 1024;
// After our last reply, how long we wait for the client to close before we do (lingering close).
inline constexpr std::chrono::seconds linger_time{2};
// After a timeout reply, how long its write may take.
inline constexpr std::chrono::seconds timeout_reply_time{5};
// How long a trusted peer has to send its whole PROXY header (or --idle-timeout, if shorter). A load balancer
// sends it with the connection's first bytes; a client that waits for a greeting never sends one.
inline constexpr std::chrono::seconds proxy_header_time{5};

// "127.0.0.1:54321" or "[::1]:54321".
std::string peer_name(const tcp::endpoint& ep);

class connection final : public connection_base, public std::enable_shared_from_this<connection> {
public:
    // `peer`: the client's address as accept() gave it (no getpeername per connection). `implicit_tls`: an
    // --smtps-listen port (RFC 8314): the handshake comes before the greeting.
    connection(worker& w, tcp::socket s, const tcp::endpoint& peer, std::uint64_t id, bool implicit_tls);
    ~connection() override;

    void start();
    void drain() override;
    void force_close() override { close_now(); }

private:
    using error_code = boost::system::error_code;
    using clock = std::chrono::steady_clock;

    void read_proxy_header();
    void on_proxy_readable(const error_code& ec);
    void proxy_done();
    void proxy_reject(std::string_view reason);
    void drop_input_and_close();
    void touch();
    void set_deadline(clock::time_point t);
    void watch();
    void on_watchdog(const error_code& ec);
    void read();
    void on_read(const error_code& ec, std::size_t n);
    void act(smtp::action a);
    void arm_delay();
    void on_delay(const error_code& ec);
    void hang_up(smtp::action a);
    void resize_buffer(std::size_t cap);
    void after_input();
    void flush();
    void on_written(const error_code& ec, std::size_t n);
    void start_tls();
    void on_handshake(const error_code& ec);
    void close_gracefully();
    void close_now();

    worker& w_;
    tcp::socket socket_;
    tcp::endpoint peer_;  // the client's TCP address (the PROXY header's client, if any, is the sink's)
    std::unique_ptr<net::tls_stream> tls_;  // set once TLS starts
    std::shared_ptr<boost::asio::ssl::context> tls_ctx_;  // kept alive for this connection (SIGHUP may swap it)
    fault::connection_observer sink_;
    smtp::session session_;
    boost::asio::steady_timer timer_;
    std::unique_ptr<boost::asio::steady_timer> delay_;  // a verdict's delay; made the first time one comes
    std::unique_ptr<proxy::parser> proxy_;  // while a PROXY header is awaited
    clock::time_point deadline_{};     // when the session times out
    clock::time_point armed_until_{};  // when the timer's pending wait fires
    std::unique_ptr<char[]> buf_;
    std::size_t cap_ = 0;
    std::size_t len_ = 0;  // unconsumed bytes at the front of buf_ (a partial command line)
    bool implicit_tls_;
    bool reading_ = false;
    bool writing_ = false;
    bool lingering_ = false;
    bool closed_ = false;
    bool drain_pending_ = false;
    bool tls_pending_ = false;  // STARTTLS answered: handshake once the 220 is written
    bool delaying_ = false;     // the session waits (action::wait): nothing is read until the delay is over
    bool delay_armed_ = false;  // its timer runs (once the replies before it are written)
};

}  // namespace server
