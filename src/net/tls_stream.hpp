// A TLS connection over a connected TCP socket, driven by the owner's event loop without Asio's SSL engine.
// OpenSSL writes its records straight to the socket (send with MSG_NOSIGNAL, through a BIO of ours) and reads them
// from a receive buffer that Asio fills (async_read_some, which tries the socket before it waits). So a reply costs
// one SSL_write and one send, with no copy, no second buffer and no completion to run; a read costs what a
// plaintext read costs, plus SSL_read. Asio's ssl::stream puts every record through a BIO pair instead: a copy
// each way, an asynchronous write and its completion per record, about 68 KiB of buffers per connection (ours:
// 17 KiB while reading). A handshake's flight is still one send: OpenSSL puts a buffering BIO in front of ours
// while it handshakes and flushes it at the end of each flight.
//
// One operation at a time: the owner starts an operation only when the last one has completed (the SMTP pump
// reads, then writes, then reads). A handler runs on the socket's executor, never inside the call that started
// the operation; it must keep the stream alive (the owner holds it, and the handler holds the owner).
#pragma once
#include <openssl/ssl.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <cstddef>
#include <memory>
#include <utility>

namespace net {

class tls_stream {
public:
    using tcp = boost::asio::ip::tcp;
    using error_code = boost::system::error_code;
    enum class role : unsigned char { client, server };

    // `socket` must outlive the stream. Throws std::runtime_error when OpenSSL cannot make the SSL object.
    tls_stream(tcp::socket& socket, SSL_CTX* ctx, role r);
    ~tls_stream();
    tls_stream(const tls_stream&) = delete;
    tls_stream& operator=(const tls_stream&) = delete;

    SSL* native_handle() const noexcept { return ssl_; }
    // The send() calls made so far (a flight is one).
    std::size_t sends() const noexcept { return sends_; }

    // The handshake: handler(error_code). A failure OpenSSL names has boost::asio::error::get_ssl_category() and
    // OpenSSL's error as its value; a peer that closed has boost::asio::ssl::error::stream_truncated.
    template <class Handler>
    void async_handshake(Handler h) {
        start(op::handshake, nullptr, 0, [h = std::move(h)](const error_code& ec, std::size_t) mutable { h(ec); });
    }
    // Some application bytes into `b`: handler(error_code, bytes). boost::asio::error::eof after the peer's
    // close_notify.
    template <class Handler>
    void async_read_some(boost::asio::mutable_buffer b, Handler h) {
        start(op::read, b.data(), b.size(), std::move(h));
    }
    // Writes all of `b` now if the socket takes it: returns b.size(). Otherwise `ec` is would_block and the
    // records that did not fit wait in OpenSSL: the next call must be async_write with the same bytes.
    std::size_t write(boost::asio::const_buffer b, error_code& ec);
    // Writes all of `b`, waiting for the socket as long as it takes: handler(error_code, bytes).
    template <class Handler>
    void async_write(boost::asio::const_buffer b, Handler h) {
        start(op::write, const_cast<void*>(b.data()), b.size(), std::move(h));
    }
    // Sends close_notify and waits for the peer's (RFC 8446 6.1): handler(error_code).
    template <class Handler>
    void async_shutdown(Handler h) {
        start(op::shutdown, nullptr, 0, [h = std::move(h)](const error_code& ec, std::size_t) mutable { h(ec); });
    }

private:
    enum class op : unsigned char { handshake, read, write, shutdown };
    enum class want : unsigned char { nothing, read, write };
    struct step {
        want next = want::nothing;  // what the operation waits for before it is tried again
        error_code ec;
        std::size_t n = 0;
    };

    // One OpenSSL call for the operation, and what came of it.
    step attempt(op o, void* data, std::size_t size);
    error_code error_of(int ssl_error);
    // The receive buffer made (at the first read) and its bytes moved to its front, before a read of the socket.
    // (OpenSSL asks for more only once it has taken every byte, so there are none to move, unless it changes.)
    void make_rx_room();
    static BIO_METHOD* bio_method();
    static int bio_create(BIO* b);
    static int bio_write(BIO* b, const char* data, std::size_t size, std::size_t* written);
    static int bio_read(BIO* b, char* data, std::size_t size, std::size_t* got);
    static long bio_ctrl(BIO* b, int cmd, long num, void* ptr);

    template <class Handler>
    void start(op o, void* data, std::size_t size, Handler h) {
        step s = attempt(o, data, size);
        if (s.next == want::nothing) {  // done at once: the handler runs later, as Asio's own operations do
            boost::asio::post(socket_.get_executor(),
                              [h = std::move(h), ec = s.ec, n = s.n]() mutable { h(ec, n); });
            return;
        }
        wait(s.next, o, data, size, std::move(h));
    }

    template <class Handler>
    void resume(op o, void* data, std::size_t size, Handler h) {
        step s = attempt(o, data, size);
        if (s.next == want::nothing) return h(s.ec, s.n);
        wait(s.next, o, data, size, std::move(h));
    }

    template <class Handler>
    void wait(want w, op o, void* data, std::size_t size, Handler h) {
        if (w == want::read) {
            make_rx_room();
            auto more = [this, o, data, size, h = std::move(h)](const error_code& ec, std::size_t n) mutable {
                if (ec) return h(socket_error(ec), 0);
                rx_end_ += n;
                resume(o, data, size, std::move(h));
            };
            socket_.async_read_some(boost::asio::buffer(rx_.get() + rx_end_, rx_cap - rx_end_), std::move(more));
            return;
        }
        auto ready = [this, o, data, size, h = std::move(h)](const error_code& ec) mutable {
            if (ec) return h(ec, 0);
            resume(o, data, size, std::move(h));
        };
        socket_.async_wait(tcp::socket::wait_write, std::move(ready));
    }
    // A socket read's error as the operation's: the peer's FIN in the middle of TLS is a truncation.
    static error_code socket_error(const error_code& ec);

    // A TLS record is at most 16 KiB of data plus 256 bytes of overhead (RFC 8446 5.2); a read takes whole ones.
    static constexpr std::size_t rx_cap = 17 * 1024;

    tcp::socket& socket_;
    SSL* ssl_ = nullptr;
    std::unique_ptr<unsigned char[]> rx_;  // the socket's bytes for OpenSSL: the owner's reads append, the BIO takes
    std::size_t rx_begin_ = 0, rx_end_ = 0;
    int send_errno_ = 0;  // the last send's error, for SSL_ERROR_SYSCALL
    std::size_t sends_ = 0;
};

}  // namespace net
