// One client connection: a small state machine driven by the server's replies (the mirror image of the
// server's pump). connect -> [TLS handshake] -> 220 -> EHLO -> [STARTTLS -> handshake -> EHLO] -> [AUTH PLAIN]
// -> transactions -> QUIT. Transactions are sent whole (--bdat: one write, RFC 3030), as one pipelined group
// plus the body after 354 (--pipelining, RFC 2920), or one command per round trip. The expected replies are a
// queue, so pipelined groups are matched reply by reply.
#pragma once
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "message.hpp"
#include "net/tls_stream.hpp"
#include "smtp/client_reply.hpp"

namespace loadgen {

class worker;
using tcp = boost::asio::ip::tcp;
using clock = std::chrono::steady_clock;

// The most a TLS record carries (RFC 8446 5.1): a batch up to this size is sent as one record.
inline constexpr std::size_t tls_gather_max = 16 * 1024;

class connection {
public:
    connection(worker& w, tcp::endpoint ep);
    ~connection();
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;
    // OpenSSL's new-session callback (SSL_CTX_sess_set_new_cb): keeps the session on the connection the SSL
    // belongs to, for its next handshake. Returns 1: the reference is taken.
    static int keep_session(SSL* ssl, SSL_SESSION* session);
    void start();                      // connect (again)
    // The worker gives this idle connection a message; `attempt`: 0 the first time, then 1, 2... (--retries).
    void begin_transaction(std::size_t flow, unsigned attempt);
    void quit();                       // the worker has no more messages for it
    void check_deadline(clock::time_point now);
    void abort();                      // hard stop: close now
    bool finished() const noexcept { return state_ == state::finished; }
    void finish();                     // done for good: tell the worker

private:
    using error_code = boost::system::error_code;
    enum class state : unsigned char { connecting, handshaking, talking, idle, waiting_close, sleeping, finished };
    enum class expect : unsigned char { greeting, ehlo, starttls, auth, rset, mail, rcpt, data, data_end, bdat_end, quit };
    enum class failure : unsigned char { connect, tls, connection, protocol };

    void on_connect(const error_code& ec);
    void handshake();
    void on_handshake(const error_code& ec);
    void read();
    void on_read(const error_code& ec, std::size_t n);
    bool on_reply(const smtp::client_reply& r);
    bool on_session_reply(expect e, const smtp::client_reply& r);
    bool on_txn_reply(expect e, const smtp::client_reply& r);
    void after_ehlo(const smtp::client_reply& r);
    void ready();
    void end_transaction(unsigned short code);
    void send_rcpt_or_data();
    void send_body();
    void queue(std::string_view s, expect e);
    void queue_bytes(std::string_view s);
    void flush();
    void spill_from(std::size_t i, std::size_t skip);
    void on_written(const error_code& ec);
    void fail(failure f, std::string_view why);
    void shutdown_tls();
    void close();
    void closed();
    void push(expect e);
    expect pop();

    worker& w_;
    tcp::endpoint ep_;
    tcp::socket sock_;
    std::unique_ptr<net::tls_stream> tls_;
    state state_ = state::finished;
    unsigned ops_ = 0;  // asynchronous operations not yet completed; the socket is reused only at 0
    bool reading_ = false, writing_ = false, tls_pending_ = false, tls_done_ = false, ehlo_done_ = false;
    bool need_rset_ = false, broke_ = false, quitting_ = false, tls_closing_ = false;
    clock::time_point t0_{}, deadline_ = clock::time_point::max();

    std::vector<char> buf_;
    std::size_t len_ = 0;
    smtp::client_reply_parser parser_;
    std::vector<expect> expects_;  // ring buffer
    std::size_t head_ = 0, count_ = 0;
    std::vector<boost::asio::const_buffer> pending_, inflight_;
    std::string spill_;  // the rest of a partial direct write; over TLS, a small batch gathered into one record
    std::string auth_line_;
    SSL_SESSION* session_ = nullptr;  // the last session the server gave this slot (--tls-resume); owned

    // The transaction in flight, and (--pipelining, closed loop) the next one, whose envelope went out
    // right behind this one's body (RFC 2920 3.1: message content may be the first "command" of a group).
    struct txn_state {
        const transaction_bytes* bytes = nullptr;
        std::size_t flow = 0;
        clock::time_point t0{};
        std::size_t next_rcpt = 0;  // one command per round trip: the next RCPT to send
        unsigned rcpt_ok = 0;
        unsigned short first_refusal = 0;
        unsigned attempt = 0;
    };
    void lose(const txn_state& t);  // the transaction was cut: send it again (--retries) or count it lost
    txn_state cur_, next_;
    bool in_txn_ = false, has_next_ = false;
    std::uint64_t on_this_connection_ = 0, completed_here_ = 0;
    unsigned broken_in_a_row_ = 0;  // connections that broke before completing a transaction, since the last one did
};

}  // namespace loadgen
