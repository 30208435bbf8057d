// One SMTP connection: the pump between a stream and a sans-IO smtp::session, and its watchdog.
// Read, feed every complete unit, write the batch of replies once, read again (RFC 2920: one write per
// pipelined batch). A template over the stream type so that plain TCP and TLS share the pump.
// Deadlines (RFC 5321 4.5.3.2) come from one timer per connection that only re-arms when it fires.
#pragma once
#include <boost/asio/write.hpp>
#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>

#include "server/log.hpp"
#include "server/worker.hpp"
#include "sink/sink.hpp"
#include "smtp/session.hpp"

namespace server {

// The read buffer starts small (idle connections cost little) and grows while reads fill it.
inline constexpr std::size_t initial_read_buffer = 4096;
inline constexpr std::size_t max_read_buffer = 64 * 1024;
// After our last reply, how long we wait for the client to close before we do (lingering close).
inline constexpr std::chrono::seconds linger_time{2};
// After a timeout reply, how long its write may take.
inline constexpr std::chrono::seconds timeout_reply_time{5};

// "127.0.0.1:54321" or "[::1]:54321" of the client; "" if the socket has already failed.
template <class Stream>
std::string peer_name(Stream& s) {
    boost::system::error_code ec;
    auto ep = s.lowest_layer().remote_endpoint(ec);
    if (ec) return {};
    auto a = ep.address().to_string();
    if (ep.address().is_v6()) a = "[" + a + "]";
    return a + ":" + std::to_string(ep.port());
}

template <class Stream>
class connection final : public connection_base, public std::enable_shared_from_this<connection<Stream>> {
public:
    connection(worker& w, Stream s, std::uint64_t id)
        : w_(w), stream_(std::move(s)), sink_(w.common().hub, w.index(), peer_name(stream_)),
          session_(w.common().profile, sink_, id),
          timer_(w.context()) {
        w_.attach(*this);
    }
    ~connection() override { w_.detach(*this); }

    void start() {
        log::debug("connection open", {{"session", std::to_string(session_.id())}});
        touch();
        watch();
        session_.open();
        flush();
    }

    void drain() override {
        if (closed_ || lingering_) return;  // a lingering connection ends by itself within linger_time
        if (writing_) {  // the output buffer is in flight; decide when the write is done
            drain_pending_ = true;
            return;
        }
        session_.request_shutdown();
        if ((session_.closing() || !session_.output().empty()) && reading_) stream_.cancel();
    }

    void force_close() override { close_now(); }

private:
    using error_code = boost::system::error_code;
    using clock = std::chrono::steady_clock;

    // Activity: the next deadline is the timeout of the phase the session is now in (RFC 5321 4.5.3.2).
    void touch() {
        auto phase = session_.current_phase();
        const auto& cfg = w_.common().cfg;
        bool in_body = phase == smtp::phase::data || phase == smtp::phase::bdat;
        set_deadline(clock::now() + (in_body ? cfg.data_timeout : cfg.idle_timeout));
    }

    // Moving the deadline later costs nothing (the timer re-arms when it fires); moving it earlier re-arms now.
    // Since the timer is never armed further than the shorter of the two timeouts, activity (touch) never
    // moves the deadline before it: only linger and timeout replies, once per connection, re-arm here.
    void set_deadline(clock::time_point t) {
        deadline_ = t;
        if (t < armed_until_) watch();
    }

    void watch() {
        const auto& cfg = w_.common().cfg;
        armed_until_ = std::min(deadline_, clock::now() + std::min(cfg.idle_timeout, cfg.data_timeout));
        timer_.expires_at(armed_until_);  // cancels a pending wait, whose handler then sees operation_aborted
        timer_.async_wait([self = this->shared_from_this()](const error_code& ec) { self->on_watchdog(ec); });
    }

    void on_watchdog(const error_code& ec) {
        if (closed_ || ec == boost::asio::error::operation_aborted) return;
        if (clock::now() < deadline_) return watch();
        if (writing_ || lingering_ || session_.closing()) return close_now();
        log::debug("timeout", {{"session", std::to_string(session_.id())}});
        session_.timed_out();
        deadline_ = clock::now() + timeout_reply_time;
        watch();
        if (reading_) stream_.cancel();
    }

    void read() {
        if (!buf_) {
            cap_ = initial_read_buffer;
            buf_ = std::make_unique<char[]>(cap_);
        }
        reading_ = true;
        stream_.async_read_some(boost::asio::buffer(buf_.get() + len_, cap_ - len_),
                                [self = this->shared_from_this()](const error_code& ec, std::size_t n) {
                                    self->on_read(ec, n);
                                });
    }

    void on_read(const error_code& ec, std::size_t n) {
        reading_ = false;
        if (closed_) return;
        if (ec == boost::asio::error::operation_aborted) return after_input();  // drain or timeout
        if (ec) {
            session_.feed_eof();
            return close_now();
        }
        if (lingering_) return read();  // discard what comes after our last reply
        bool filled = len_ + n == cap_;
        len_ += n;
        auto r = session_.feed(std::string_view(buf_.get(), len_));
        touch();
        len_ -= r.consumed;
        if (len_ > 0) std::memmove(buf_.get(), buf_.get() + r.consumed, len_);
        if (filled && cap_ < max_read_buffer) grow();
        after_input();
    }

    void grow() {
        auto bigger = std::make_unique<char[]>(cap_ * 2);
        std::memcpy(bigger.get(), buf_.get(), len_);
        buf_ = std::move(bigger);
        cap_ *= 2;
    }

    void after_input() {
        if (lingering_) return read();
        if (!session_.output().empty()) return flush();
        if (session_.closing()) return close_gracefully();
        read();
    }

    // Writes the session's replies: at once if the socket takes them, else asynchronously.
    void flush() {
        auto out = session_.output();
        while (!out.empty()) {
            error_code ec;
            std::size_t n = stream_.write_some(boost::asio::buffer(out.data(), out.size()), ec);
            if (ec == boost::asio::error::would_block || ec == boost::asio::error::try_again) break;
            if (ec) return close_now();
            session_.output_written(n);
            out = session_.output();
        }
        if (!out.empty()) {
            writing_ = true;
            boost::asio::async_write(stream_, boost::asio::buffer(out.data(), out.size()),
                                     [self = this->shared_from_this()](const error_code& ec, std::size_t n) {
                                         self->on_written(ec, n);
                                     });
            return;
        }
        if (drain_pending_) {
            drain_pending_ = false;
            session_.request_shutdown();
            if (!session_.output().empty()) return flush();
        }
        if (session_.closing()) return close_gracefully();
        if (!reading_) read();
    }

    void on_written(const error_code& ec, std::size_t n) {
        writing_ = false;
        if (closed_) return;
        if (ec) return close_now();
        session_.output_written(n);
        touch();
        flush();
    }

    // Our last reply is out: half-close, then read and discard until the client closes or linger_time passes,
    // so that unread client bytes do not turn our close into a reset that destroys that reply. After QUIT the
    // client sends nothing more and a plain close is enough (it saves two system calls per connection).
    void close_gracefully() {
        if (lingering_) return;
        if (session_.quit()) return close_now();
        lingering_ = true;
        error_code ec;
        stream_.lowest_layer().shutdown(tcp::socket::shutdown_send, ec);
        if (ec) return close_now();
        set_deadline(clock::now() + linger_time);
        if (!reading_) read();
    }

    void close_now() {
        if (closed_) return;
        closed_ = true;
        error_code ec;
        stream_.lowest_layer().close(ec);
        timer_.cancel();
        log::debug("connection closed", {{"session", std::to_string(session_.id())},
                                         {"transactions", std::to_string(session_.transactions())}});
    }

    worker& w_;
    Stream stream_;
    sink::connection_sink sink_;
    smtp::session session_;
    boost::asio::steady_timer timer_;
    clock::time_point deadline_{};      // when the session times out
    clock::time_point armed_until_{};   // when the timer's pending wait fires
    std::unique_ptr<char[]> buf_;
    std::size_t cap_ = 0;
    std::size_t len_ = 0;  // unconsumed bytes at the front of buf_ (a partial command line)
    bool reading_ = false;
    bool writing_ = false;
    bool lingering_ = false;
    bool closed_ = false;
    bool drain_pending_ = false;
};

}  // namespace server
