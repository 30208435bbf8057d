// net::tls_stream between two sockets of one process over 127.0.0.1: the handshake, bytes each way, close_notify
// both ways, a write larger than the socket takes (the records OpenSSL keeps, then async_write with the same
// bytes), handlers that never run inside the call that started them, and the errors a peer can cause.
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/write.hpp>
#include <doctest/doctest.h>
#include <memory>
#include <optional>
#include <string>

#include "net/tls_stream.hpp"
#include "server/tls.hpp"

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using net::tls_stream;

struct client_ctx {
    client_ctx() : ctx(SSL_CTX_new(TLS_client_method())) { SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr); }
    ~client_ctx() { SSL_CTX_free(ctx); }
    SSL_CTX* ctx;
};

// A connected pair of non-blocking sockets and the server's TLS configuration (a self-signed P-256 pair).
struct pair {
    asio::io_context io;
    tcp::socket server{io}, client{io};
    server::tls_config tls{"", "", "mx.test", server::tls_policy{}};
    client_ctx cctx;

    pair() {
        tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        client.connect(a.local_endpoint());
        a.accept(server);
        server.non_blocking(true);
        client.non_blocking(true);
    }
    SSL_CTX* server_ctx() { return tls.current()->native_handle(); }
};

// What an operation's handler was given.
struct outcome {
    std::optional<error_code> ec;
    std::size_t n = 0;
    auto handler() {
        return [this](const error_code& e, std::size_t got) {
            ec = e;
            n = got;
        };
    }
};

// Runs the loop until `done` or 10 s pass; whether `done` came true.
template <class Done>
bool run_until(asio::io_context& io, Done done) {
    io.restart();
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done() && std::chrono::steady_clock::now() < until) io.run_one_for(std::chrono::milliseconds(100));
    return done();
}

void handshake(pair& p, tls_stream& s, tls_stream& c) {
    std::optional<error_code> se, ce;
    s.async_handshake([&](const error_code& ec) { se = ec; });
    c.async_handshake([&](const error_code& ec) { ce = ec; });
    CHECK_FALSE(se.has_value());  // never inside the call
    CHECK_FALSE(ce.has_value());
    REQUIRE(run_until(p.io, [&] { return se && ce; }));
    REQUIRE_MESSAGE(!*se, se->message());
    REQUIRE_MESSAGE(!*ce, ce->message());
}

// Reads from `t` until `want` bytes came or an error; the bytes read.
std::string read_exactly(pair& p, tls_stream& t, std::size_t want, error_code& last) {
    std::string got;
    char buf[8192];
    bool busy = false;
    while (got.size() < want && !last) {
        busy = true;
        t.async_read_some(asio::buffer(buf), [&](const error_code& ec, std::size_t n) {
            last = ec;
            got.append(buf, n);
            busy = false;
        });
        if (!run_until(p.io, [&] { return !busy; })) break;
    }
    return got;
}

}  // namespace

TEST_CASE("tls_stream: handshake, a command and its reply, close_notify both ways") {
    pair p;
    tls_stream s(p.server, p.server_ctx(), tls_stream::role::server);
    tls_stream c(p.client, p.cctx.ctx, tls_stream::role::client);
    handshake(p, s, c);
    CHECK(SSL_is_init_finished(s.native_handle()) == 1);

    error_code ec;
    const std::string ehlo = "EHLO client.test\r\n";
    CHECK(c.write(asio::buffer(ehlo), ec) == ehlo.size());
    CHECK_FALSE(ec);
    error_code rec;
    CHECK(read_exactly(p, s, ehlo.size(), rec) == ehlo);
    CHECK_FALSE(rec);

    const std::string reply = "250-mx.test\r\n250 PIPELINING\r\n";
    CHECK(s.write(asio::buffer(reply), ec) == reply.size());
    CHECK(read_exactly(p, c, reply.size(), rec) == reply);

    // The server closes first: its close_notify reaches the client as eof, the client answers with its own.
    std::optional<error_code> sd, cd;
    s.async_shutdown([&](const error_code& e) { sd = e; });
    CHECK_FALSE(sd.has_value());
    std::string after = read_exactly(p, c, 1, rec);
    CHECK(after.empty());
    CHECK(rec == asio::error::eof);
    c.async_shutdown([&](const error_code& e) { cd = e; });
    REQUIRE(run_until(p.io, [&] { return sd && cd; }));
    CHECK_MESSAGE(!*sd, sd->message());
    CHECK_MESSAGE(!*cd, cd->message());
    CHECK((SSL_get_shutdown(s.native_handle()) & SSL_RECEIVED_SHUTDOWN) != 0);
}

TEST_CASE("tls_stream: each flight of a handshake is one send") {
    pair p;
    tls_stream s(p.server, p.server_ctx(), tls_stream::role::server);
    tls_stream c(p.client, p.cctx.ctx, tls_stream::role::client);
    handshake(p, s, c);
    REQUIRE(std::string(SSL_get_version(s.native_handle())) == "TLSv1.3");
    // The client: its ClientHello, then its Finished. The server: ServerHello to Finished (five records, which
    // OpenSSL's buffering BIO holds until the flight ends), then, after the client's Finished, its session ticket.
    // One send a flight: the peer wakes once for it.
    CHECK(c.sends() == 2);
    CHECK(s.sends() == 2);
    // A close_notify is one more.
    std::optional<error_code> sd;
    s.async_shutdown([&](const error_code& e) { sd = e; });
    error_code rec;
    read_exactly(p, c, 1, rec);
    CHECK(rec == asio::error::eof);
    CHECK(s.sends() == 3);
}

TEST_CASE("tls_stream: a write larger than the socket takes goes on with async_write, every byte in order") {
    pair p;
    // Small kernel buffers: 4 MiB cannot fit, so OpenSSL keeps records the socket did not take.
    p.server.set_option(asio::socket_base::send_buffer_size(16 * 1024));
    p.client.set_option(asio::socket_base::receive_buffer_size(16 * 1024));
    tls_stream s(p.server, p.server_ctx(), tls_stream::role::server);
    tls_stream c(p.client, p.cctx.ctx, tls_stream::role::client);
    handshake(p, s, c);

    std::string big(4 << 20, '\0');
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + (i * 7 + i / 4096) % 26);
    error_code ec;
    CHECK(s.write(asio::buffer(big), ec) == 0);
    REQUIRE(ec == asio::error::would_block);
    outcome w;
    s.async_write(asio::buffer(big), w.handler());
    error_code rec;
    const std::string got = read_exactly(p, c, big.size(), rec);
    REQUIRE(run_until(p.io, [&] { return w.ec.has_value(); }));
    CHECK_FALSE(*w.ec);
    CHECK(w.n == big.size());
    CHECK_FALSE(rec);
    CHECK(got.size() == big.size());
    CHECK(got == big);
}

TEST_CASE("tls_stream: a peer that hangs up in the handshake is a truncation, one that speaks SMTP an OpenSSL error") {
    SUBCASE("hang-up") {
        pair p;
        tls_stream s(p.server, p.server_ctx(), tls_stream::role::server);
        std::optional<error_code> se;
        s.async_handshake([&](const error_code& ec) { se = ec; });
        p.client.close();
        REQUIRE(run_until(p.io, [&] { return se.has_value(); }));
        CHECK(*se == asio::ssl::error::stream_truncated);
    }
    SUBCASE("plaintext") {
        pair p;
        tls_stream s(p.server, p.server_ctx(), tls_stream::role::server);
        std::optional<error_code> se;
        s.async_handshake([&](const error_code& ec) { se = ec; });
        const std::string ehlo = "EHLO client.test\r\n";
        asio::write(p.client, asio::buffer(ehlo));
        REQUIRE(run_until(p.io, [&] { return se.has_value(); }));
        REQUIRE(se->category() == asio::error::get_ssl_category());
        CHECK(ERR_GET_LIB(static_cast<unsigned long>(static_cast<unsigned int>(se->value()))) == ERR_LIB_SSL);
        CHECK(ERR_GET_REASON(static_cast<unsigned long>(static_cast<unsigned int>(se->value()))) ==
              SSL_R_WRONG_VERSION_NUMBER);
    }
}

TEST_CASE("tls_stream: a stale error of another connection on the thread does not fail this one") {
    pair p;
    tls_stream s(p.server, p.server_ctx(), tls_stream::role::server);
    tls_stream c(p.client, p.cctx.ctx, tls_stream::role::client);
    handshake(p, s, c);
    // As a failed handshake elsewhere on this thread leaves it: the read below finds no record at first (OpenSSL
    // wants to read), and SSL_get_error would take the stale error for this connection's.
    ERR_raise(ERR_LIB_SSL, SSL_R_BAD_PACKET);
    char buf[64];
    outcome r;
    s.async_read_some(asio::buffer(buf), r.handler());
    error_code ec;
    const std::string quit = "QUIT\r\n";
    c.write(asio::buffer(quit), ec);
    REQUIRE(run_until(p.io, [&] { return r.ec.has_value(); }));
    CHECK_MESSAGE(!*r.ec, r.ec->message());
    CHECK(std::string(buf, r.n) == quit);
}
