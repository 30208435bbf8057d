// The floor over Asio: a measuring stick for bench/floor.sh, not a server. The canned replies of the floor
// (floor_canned.hpp), with no parsing, limits or timeouts, but with the event loop the daemon runs on, used as
// the daemon uses it: one io_context run by one thread without per-socket locks (the daemon's
// BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO), async_accept, each accepted socket set non-blocking, a connection
// object held by shared_ptr in its handlers, async_read_some into its own 64 KiB buffer, the replies of one read
// written at once with write_some. Beside the floor (plain epoll, one shared buffer) it shows what the event loop
// itself costs per message; beside the daemon, what the daemon adds on top of it (SMTP, counting, capturing,
// timeouts).
//
// Usage and lines as bench/floor.cpp: floor_asio [PORT]; "listening smtp 127.0.0.1:PORT" on stderr at start,
// "msg=totals transactions=N connections=N short_writes=N" on SIGTERM or SIGINT, then exit 0.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <array>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "floor_canned.hpp"

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using namespace canned;

constexpr int backlog = 1024;  // as floor.cpp

totals t;
reply_buffer out;  // one thread: a read's replies are written before the next handler runs

class conn : public std::enable_shared_from_this<conn> {
public:
    explicit conn(tcp::socket s) : socket_(std::move(s)) {}

    void start() {
        error_code ec;
        socket_.non_blocking(true, ec);
        out.len = 0;
        out.add(greeting);
        if (write()) read();
    }

private:
    void read() {
        socket_.async_read_some(asio::buffer(buf_),
                                [self = shared_from_this()](const error_code& ec, std::size_t n) { self->on_read(ec, n); });
    }

    void on_read(const error_code& ec, std::size_t n) {
        if (ec) return close();
        out.len = 0;
        const bool keep = consume(session_, buf_.data(), buf_.data() + n, out, t);
        if (!write()) return;
        if (!keep) return close();
        read();
    }

    // The replies in `out`, in one write_some; false (and closed) when the socket did not take them all.
    bool write() {
        if (out.len == 0) return true;
        error_code ec;
        if (socket_.write_some(asio::buffer(out.bytes.data(), out.len), ec) == out.len && !ec) return true;
        ++t.short_writes;
        close();
        return false;
    }

    void close() {
        error_code ec;
        socket_.close(ec);
    }

    tcp::socket socket_;
    session session_;
    std::array<char, read_size> buf_;
};

class acceptor {
public:
    acceptor(asio::io_context& ctx, std::uint16_t port) : a_(ctx) {
        const tcp::endpoint ep(asio::ip::address_v4::loopback(), port);
        a_.open(ep.protocol());
        a_.set_option(tcp::acceptor::reuse_address(true));
        a_.bind(ep);
        a_.listen(backlog);
        std::fprintf(stderr, "listening smtp 127.0.0.1:%u\n", a_.local_endpoint().port());
    }

    void accept() {
        a_.async_accept([this](const error_code& ec, tcp::socket s) {
            if (!ec) {
                ++t.connections;
                std::make_shared<conn>(std::move(s))->start();
            }
            accept();
        });
    }

private:
    tcp::acceptor a_;
};

}  // namespace

int main(int argc, char** argv) {
    asio::io_context ctx{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
    acceptor a(ctx, static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 0));
    a.accept();
    asio::signal_set stop(ctx, SIGTERM, SIGINT);
    stop.async_wait([](const error_code&, int) {
        print_totals(t);
        std::exit(0);  // open connections and pending handlers are not wound down: a measuring stick
    });
    ctx.run();
}
