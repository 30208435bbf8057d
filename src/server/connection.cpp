// The connection pump, watchdog and TLS switch. See connection.hpp.
#include "server/connection.hpp"

#include <openssl/ssl.h>

#include <algorithm>
#include <charconv>
#include <boost/asio/write.hpp>
#include <cstring>

#include "proxy/limits.hpp"
#include "server/log.hpp"
#include "server/tls.hpp"
#include "server/tls_policy.hpp"

namespace server {
namespace {

// Whether the peer is in one of the networks.
bool trusted(const tcp::endpoint& ep, const std::vector<proxy::cidr>& from) {
    const auto a = ep.address();
    const auto peer =
        a.is_v4() ? proxy::address::v4(a.to_v4().to_bytes()) : proxy::address::v6(a.to_v6().to_bytes());
    return std::any_of(from.begin(), from.end(), [&](const proxy::cidr& c) { return c.contains(peer); });
}

// The sink::tls_failures index of a failed handshake: OpenSSL's reason when it has one (none when the peer is
// gone), and the versions the two sides had named.
std::size_t tls_failure(const boost::system::error_code& ec, SSL* ssl) {
    const bool from_openssl = ec.category() == boost::asio::error::get_ssl_category();
    const auto err = from_openssl ? static_cast<unsigned long>(static_cast<unsigned int>(ec.value())) : 0UL;
    return tls_failure_of(err, SSL_version(ssl), SSL_client_version(ssl));
}

}  // namespace

// IPv4 is formatted here: Asio's to_string goes through inet_ntop, which formats with sprintf (about 1,800
// instructions more, 7% of what a one-message connection cost the daemon in user space).
std::string peer_name(const tcp::endpoint& ep) {
    const auto a = ep.address();
    std::string out;
    auto number = [&out](unsigned short n) {  // a byte or a port: at most 5 digits
        char digits[5];
        out.append(digits, std::to_chars(digits, digits + sizeof digits, n).ptr);
    };
    if (a.is_v4()) {
        out.reserve(sizeof "255.255.255.255:65535");
        for (const auto byte : a.to_v4().to_bytes()) {
            number(byte);
            out += '.';
        }
        out.back() = ':';
    } else {
        out = '[';
        out += a.to_string();
        out += "]:";
    }
    number(ep.port());
    return out;
}

connection::connection(worker& w, tcp::socket s, const tcp::endpoint& peer, std::uint64_t id, bool implicit_tls)
    : w_(w), socket_(std::move(s)), peer_(peer), sink_(w.common().hub, w.common().faults, w.index(), peer_name(peer), id),
      session_(w.common().profile, sink_, id), timer_(w.context()), implicit_tls_(implicit_tls) {
    w_.attach(*this);
}

connection::~connection() { w_.detach(*this); }

void connection::start() {
    if (log::enabled(log::level::debug))  // the fields are built only for a line that is written
        log::debug("connection open",
                   {{"session", std::to_string(session_.id())}, {"worker", std::to_string(w_.index())}});
    touch();
    const auto& cfg = w_.common().cfg;
    if (!cfg.proxy_from.empty()) {
        if (!trusted(peer_, cfg.proxy_from)) return proxy_reject("untrusted");
        proxy_ = std::make_unique<proxy::parser>();
        deadline_ = clock::now() + std::min<clock::duration>(proxy_header_time, cfg.idle_timeout);
        watch();
        return read_proxy_header();
    }
    if (implicit_tls_) {  // the handshake's deadline is set first, so that the watchdog is armed once, not twice
        start_tls();
        return watch();
    }
    watch();
    act(session_.open());
}

// The PROXY header is read without taking a byte past its end: each time the socket is readable, what it holds
// is peeked and fed to the parser, and only the header's bytes are read out of it. So the client's first bytes
// (its SMTP, or its TLS ClientHello) stay in the socket for the session or the TLS stream, as if no header had come.
void connection::read_proxy_header() {
    reading_ = true;
    socket_.async_wait(tcp::socket::wait_read,
                       [self = shared_from_this()](const error_code& ec) { self->on_proxy_readable(ec); });
}

void connection::on_proxy_readable(const error_code& ec) {
    reading_ = false;
    if (closed_) return;
    if (ec) return proxy_reject("eof");
    if (!buf_) {
        cap_ = initial_read_buffer;
        buf_ = std::make_unique_for_overwrite<char[]>(cap_);
    }
    error_code rec;
    auto n = socket_.receive(boost::asio::buffer(buf_.get() + len_, cap_ - len_), tcp::socket::message_peek, rec);
    if (rec == boost::asio::error::would_block || rec == boost::asio::error::try_again) return read_proxy_header();
    if (rec || n == 0) return proxy_reject("eof");
    auto r = proxy_->feed(std::string_view(buf_.get(), len_ + n));
    if (r.state == proxy::status::error) return proxy_reject(proxy::to_string(r.why));
    // Every byte before the header's end is the header's: read out of the socket (it is there: just peeked).
    const bool done = r.state == proxy::status::done;
    const std::size_t take = done ? (r.consumed > len_ ? r.consumed - len_ : 0) : n;
    if (take > 0) {
        auto got = socket_.receive(boost::asio::buffer(buf_.get() + len_, take), 0, rec);
        if (rec || got != take) return proxy_reject("eof");
        len_ += take;
    }
    if (done) return proxy_done();
    if (len_ == cap_) {  // a long version 2 header: the parser refuses one over limits::v2_header itself
        if (cap_ >= proxy::limits::v2_header) return proxy_reject("too_long");
        resize_buffer(std::min(cap_ * 2, proxy::limits::v2_header));
    }
    read_proxy_header();
}

// The header is whole: its client (if it names one) is the connection's from now on, and the session begins.
void connection::proxy_done() {
    const auto& h = proxy_->get();
    if (h.has_address()) sink_.set_client(h.client());
    log::debug("proxy header", {{"session", std::to_string(session_.id())},
                                {"version", std::to_string(h.version)},
                                {"client", h.has_address() ? h.client() : peer_name(peer_)},
                                {"peer", peer_name(peer_)}});
    proxy_.reset();
    buf_.reset();  // the session's reads start as on a connection without a header (see on_delay)
    cap_ = len_ = 0;
    touch();
    if (implicit_tls_) return start_tls();
    act(session_.open());
}

// No greeting: the peer may not send a header, or did not send a good one in time. What it sent is read and
// dropped, so that the close is a FIN rather than a reset for unread bytes.
void connection::proxy_reject(std::string_view reason) {
    w_.counters().proxy_rejected[sink::proxy_rejection_index(reason)].add();
    log::debug("proxy header refused",
               {{"session", std::to_string(session_.id())}, {"reason", reason}, {"peer", peer_name(peer_)}});
    drop_input_and_close();
}

// Closes without a reply, after reading and dropping what the peer sent that nobody read (up to 64 KiB, without
// waiting): closed with unread bytes, the socket would send a reset rather than a FIN.
void connection::drop_input_and_close() {
    char scratch[4096];
    for (std::size_t total = 0; total < 64 * 1024;) {
        error_code ec;
        const std::size_t n = socket_.receive(boost::asio::buffer(scratch), 0, ec);
        if (ec || n == 0) break;
        total += n;
    }
    close_now();
}

// What the session asked for after a call that read no input (the greeting, TLS up): a delay, a close without a
// reply, or the replies written.
void connection::act(smtp::action a) {
    if (a == smtp::action::disconnect || a == smtp::action::reset) return hang_up(a);
    if (a == smtp::action::wait) delaying_ = true;
    flush();
}

void connection::drain() {
    if (closed_ || lingering_) return;  // a lingering connection ends by itself within linger_time
    if (proxy_) return drop_input_and_close();  // a PROXY header pending: no greeting yet, nothing to finish
    if (writing_ || tls_pending_ || delaying_) {  // the output is in flight, or a reply is due: decide after it
        drain_pending_ = true;
        return;
    }
    session_.request_shutdown();
    if ((session_.closing() || !session_.output().empty()) && reading_) socket_.cancel();
}

// Activity: the next deadline is the timeout of the phase the session is now in (RFC 5321 4.5.3.2).
void connection::touch() {
    auto phase = session_.current_phase();
    const auto& cfg = w_.common().cfg;
    bool in_body = phase == smtp::phase::data || phase == smtp::phase::bdat;
    set_deadline(clock::now() + (in_body ? cfg.data_timeout : cfg.idle_timeout));
}

// Moving the deadline later costs nothing (the timer re-arms when it fires); moving it earlier re-arms now.
// Since the timer is never armed further than the shorter of the two timeouts, activity (touch) never
// moves the deadline before it: only linger, handshake and timeout replies, once per connection, re-arm here.
void connection::set_deadline(clock::time_point t) {
    deadline_ = t;
    if (t < armed_until_) watch();
}

void connection::watch() {
    const auto& cfg = w_.common().cfg;
    armed_until_ = std::min(deadline_, clock::now() + std::min(cfg.idle_timeout, cfg.data_timeout));
    timer_.expires_at(armed_until_);  // cancels a pending wait, whose handler then sees operation_aborted
    timer_.async_wait([self = shared_from_this()](const error_code& ec) { self->on_watchdog(ec); });
}

void connection::on_watchdog(const error_code& ec) {
    if (closed_ || ec == boost::asio::error::operation_aborted) return;
    if (clock::now() < deadline_) return watch();
    if (proxy_) return proxy_reject("timeout");
    if (delaying_) {  // the server is the one that is slow: the client's idle time starts after the delay
        deadline_ = clock::now() + w_.common().cfg.idle_timeout;
        return watch();
    }
    // The handshake did not finish in time.
    if (tls_pending_ && tls_) w_.counters().tls_failed[sink::tls_failure_index("timeout")].add();
    if (writing_ || lingering_ || tls_pending_ || session_.closing()) return close_now();
    log::debug("timeout", {{"session", std::to_string(session_.id())}});
    session_.timed_out();
    deadline_ = clock::now() + timeout_reply_time;
    watch();
    if (reading_) socket_.cancel();
}

void connection::read() {
    if (!buf_) {
        cap_ = initial_read_buffer;
        buf_ = std::make_unique_for_overwrite<char[]>(cap_);
    }
    reading_ = true;
    auto buffer = boost::asio::buffer(buf_.get() + len_, cap_ - len_);
    auto handler = [self = shared_from_this()](const error_code& ec, std::size_t n) { self->on_read(ec, n); };
    if (tls_)
        tls_->async_read_some(buffer, std::move(handler));
    else
        socket_.async_read_some(buffer, std::move(handler));
}

void connection::on_read(const error_code& ec, std::size_t n) {
    reading_ = false;
    if (closed_) return;
    if (ec) {  // (error_code's == is a call: tested only for an error)
        if (ec == boost::asio::error::operation_aborted) return after_input();  // drain or timeout
        session_.feed_eof();
        return close_now();
    }
    if (lingering_) return read();  // discard what comes after our last reply
    bool filled = len_ + n == cap_;
    len_ += n;
    auto r = session_.feed(std::string_view(buf_.get(), len_));
    touch();
    len_ -= r.consumed;
    if (r.next == smtp::action::start_tls) {
        // RFC 3207 4.2 (CVE-2011-0411): whatever the client sent after STARTTLS is dropped, never executed.
        if (len_ > 0) {
            w_.counters().starttls_dropped.add(len_);
            log::debug("plaintext after STARTTLS dropped",
                       {{"session", std::to_string(session_.id())}, {"bytes", std::to_string(len_)}});
        }
        len_ = 0;
        tls_pending_ = true;
    } else if (len_ > 0) {
        std::memmove(buf_.get(), buf_.get() + r.consumed, len_);
    }
    // A body that fills the buffer goes on at full size at once (no read is spent on each doubling); between
    // messages, a read that left the buffer mostly empty takes it back to its first size.
    const auto ph = session_.current_phase();
    const bool body = ph == smtp::phase::data || ph == smtp::phase::bdat;
    if (filled && cap_ < max_read_buffer)
        resize_buffer(body ? max_read_buffer : cap_ * 2);
    else if (!filled && !body && cap_ > initial_read_buffer && len_ <= initial_read_buffer / 2)
        resize_buffer(initial_read_buffer);
    if (r.next >= smtp::action::wait) return act(r.next);  // a verdict's delay or close
    after_input();
}

// The delay runs once the replies before it are written (they are not held back with it).
void connection::arm_delay() {
    if (delay_armed_) return;
    delay_armed_ = true;
    if (!delay_) delay_ = std::make_unique<boost::asio::steady_timer>(w_.context());
    delay_->expires_after(std::chrono::milliseconds(session_.wait_ms()));
    delay_->async_wait([self = shared_from_this()](const error_code& ec) { self->on_delay(ec); });
}

// The delay is over: the session carries on (the delayed reply), then takes the bytes that waited in the buffer.
void connection::on_delay(const error_code& ec) {
    delaying_ = delay_armed_ = false;
    if (closed_ || ec == boost::asio::error::operation_aborted) return;
    session_.resume();
    touch();
    if (drain_pending_) {
        drain_pending_ = false;
        session_.request_shutdown();
    }
    if (!buf_) return after_input();  // the greeting was delayed: nothing was read yet
    on_read({}, 0);                   // the bytes that waited in the buffer, fed as if just read
}

// A verdict's close without a reply. disconnect: what is queued is written, then a FIN (the lingering close of
// close_gracefully, so that unread client bytes do not turn it into a reset). reset: an RST at once (SO_LINGER 0),
// whatever is queued.
void connection::hang_up(smtp::action a) {
    if (a == smtp::action::disconnect) return flush();  // the session is closing: flush ends in close_gracefully
    error_code ec;
    socket_.set_option(boost::asio::socket_base::linger(true, 0), ec);
    close_now();
}

void connection::resize_buffer(std::size_t cap) {
    auto fresh = std::make_unique_for_overwrite<char[]>(cap);
    std::memcpy(fresh.get(), buf_.get(), len_);
    buf_ = std::move(fresh);
    cap_ = cap;
}

void connection::after_input() {
    if (lingering_) return read();
    if (!session_.output().empty() || tls_pending_) return flush();
    if (session_.closing()) return close_gracefully();
    read();
}

// Writes the session's replies at once if the socket takes them, else asynchronously. Over TLS, records that
// did not fit wait in OpenSSL, and the asynchronous write goes on with the same bytes.
void connection::flush() {
    auto out = session_.output();
    while (!out.empty()) {
        error_code ec;
        const auto b = boost::asio::buffer(out.data(), out.size());
        std::size_t n = tls_ ? tls_->write(b, ec) : socket_.write_some(b, ec);
        if (ec) {
            if (ec == boost::asio::error::would_block || ec == boost::asio::error::try_again) break;
            return close_now();
        }
        session_.output_written(n);
        out = session_.output();
    }
    if (!out.empty()) {
        writing_ = true;
        auto handler = [self = shared_from_this()](const error_code& ec, std::size_t n) { self->on_written(ec, n); };
        if (tls_)
            tls_->async_write(boost::asio::buffer(out.data(), out.size()), std::move(handler));
        else
            boost::asio::async_write(socket_, boost::asio::buffer(out.data(), out.size()), std::move(handler));
        return;
    }
    if (tls_pending_) return start_tls();
    if (delaying_) return arm_delay();
    if (drain_pending_) {
        drain_pending_ = false;
        session_.request_shutdown();
        if (!session_.output().empty()) return flush();
    }
    if (session_.closing()) return close_gracefully();
    if (!reading_) read();
}

void connection::on_written(const error_code& ec, std::size_t n) {
    writing_ = false;
    if (closed_) return;
    if (ec) return close_now();
    session_.output_written(n);
    touch();
    flush();
}

void connection::start_tls() {
    auto& tls = *w_.common().tls;
    tls_ctx_ = tls.current();
    tls_ = std::make_unique<net::tls_stream>(socket_, tls_ctx_->native_handle(), net::tls_stream::role::server);
    tls_pending_ = true;
    set_deadline(clock::now() + w_.common().cfg.tls_handshake_timeout);
    tls_->async_handshake([self = shared_from_this()](const error_code& ec) { self->on_handshake(ec); });
}

void connection::on_handshake(const error_code& ec) {
    tls_pending_ = false;
    if (closed_) return;
    if (ec) {
        // A TLS 1.3 client that hangs up as soon as its side is done makes our session-ticket write fail: its
        // handshake succeeded, so it is not counted as a failure.
        auto state = SSL_get_state(tls_->native_handle());
        bool client_done = state == TLS_ST_SW_SESSION_TICKET || SSL_is_init_finished(tls_->native_handle());
        const auto reason = tls_failure(ec, tls_->native_handle());
        (client_done ? w_.counters().tls_ok : w_.counters().tls_failed[reason]).add();
        log::debug("TLS handshake failed", {{"session", std::to_string(session_.id())},
                                            {"reason", std::string(sink::tls_failures[reason])},
                                            {"error", ec.message()}});
        return close_now();
    }
    w_.counters().tls_ok.add();
    SSL* ssl = tls_->native_handle();
    std::string info = std::string(SSL_get_version(ssl)) + " " + SSL_get_cipher_name(ssl);
    if (SSL_session_reused(ssl)) w_.counters().tls_resumed.add();
    session_.tls_established(info);
    touch();
    auto next = implicit_tls_ ? session_.open() : smtp::action::none;
    if (drain_pending_ && next != smtp::action::wait) {
        drain_pending_ = false;
        session_.request_shutdown();
    }
    act(next);
}

// Our last reply is out. Over TLS: send close_notify (RFC 8446 6.1) and close when the client answers or
// linger_time passes. Over TCP: half-close, then read and discard until the client closes or linger_time
// passes, so that unread client bytes do not turn our close into a reset that destroys that reply; after QUIT
// the client sends nothing more and a plain close is enough (it saves two system calls per connection).
void connection::close_gracefully() {
    if (lingering_) return;
    if (tls_) {
        lingering_ = true;
        set_deadline(clock::now() + linger_time);
        tls_->async_shutdown([self = shared_from_this()](const error_code&) { self->close_now(); });
        return;
    }
    if (session_.quit_received()) return close_now();
    lingering_ = true;
    error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return close_now();
    set_deadline(clock::now() + linger_time);
    if (!reading_) read();
}

void connection::close_now() {
    if (closed_) return;
    closed_ = true;
    error_code ec;
    socket_.close(ec);
    timer_.cancel();
    if (delay_) delay_->cancel();
    if (log::enabled(log::level::debug))
        log::debug("connection closed", {{"session", std::to_string(session_.id())},
                                         {"transactions", std::to_string(session_.transactions())}});
}

}  // namespace server
