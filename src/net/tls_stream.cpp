// The TLS stream's OpenSSL side: its BIO and the mapping of OpenSSL's outcomes. See tls_stream.hpp.
#include "net/tls_stream.hpp"

#include <openssl/err.h>
#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace net {

// The BIO method: made once, for every stream of the process.
BIO_METHOD* tls_stream::bio_method() {
    static BIO_METHOD* const method = [] {
        BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "smtp-blackhole tls_stream");
        if (m && BIO_meth_set_write_ex(m, &bio_write) && BIO_meth_set_read_ex(m, &bio_read) &&
            BIO_meth_set_ctrl(m, &bio_ctrl) && BIO_meth_set_create(m, &bio_create))
            return m;
        BIO_meth_free(m);
        return static_cast<BIO_METHOD*>(nullptr);
    }();
    return method;
}

tls_stream::tls_stream(tcp::socket& socket, SSL_CTX* ctx, role r) : socket_(socket) {
    BIO_METHOD* m = bio_method();
    ssl_ = m ? SSL_new(ctx) : nullptr;
    BIO* bio = ssl_ ? BIO_new(m) : nullptr;
    if (!bio) {
        SSL_free(ssl_);
        throw std::runtime_error("cannot make a TLS connection object");
    }
    BIO_set_data(bio, this);
    SSL_set_bio(ssl_, bio, bio);  // the SSL object owns the BIO
    // Memory of idle connections: OpenSSL frees its record buffers while they are empty.
    SSL_set_mode(ssl_, SSL_MODE_RELEASE_BUFFERS);
    if (r == role::server)
        SSL_set_accept_state(ssl_);
    else
        SSL_set_connect_state(ssl_);
    // OpenSSL sends from inside SSL_write: never let it block the loop (the owners set this already).
    error_code ec;
    if (!socket_.non_blocking()) socket_.non_blocking(true, ec);
}

tls_stream::~tls_stream() { SSL_free(ssl_); }

std::size_t tls_stream::write(boost::asio::const_buffer b, error_code& ec) {
    step s = attempt(op::write, const_cast<void*>(b.data()), b.size());
    ec = s.next == want::nothing ? s.ec : make_error_code(boost::asio::error::would_block);
    return s.n;
}

tls_stream::step tls_stream::attempt(op o, void* data, std::size_t size) {
    // SSL_get_error reads the thread's error queue: nothing of another connection may be left in it. (Peeking
    // first: clearing an empty queue costs ~400 instructions, a tenth of a small record's SSL_read.)
    if (ERR_peek_error() != 0) ERR_clear_error();
    send_errno_ = 0;
    step s;
    int r = 0;
    switch (o) {
    case op::handshake: r = SSL_do_handshake(ssl_); break;
    case op::read: r = SSL_read_ex(ssl_, data, size, &s.n); break;
    case op::write: r = SSL_write_ex(ssl_, data, size, &s.n); break;
    case op::shutdown:
        r = SSL_shutdown(ssl_);  // 0: our close_notify is out; a second call reads the peer's
        if (r == 0) r = SSL_shutdown(ssl_);
        break;
    }
    if (r == 1) return s;
    s.n = 0;
    const int e = SSL_get_error(ssl_, r);
    if (e == SSL_ERROR_WANT_READ) s.next = want::read;
    else if (e == SSL_ERROR_WANT_WRITE) s.next = want::write;
    else s.ec = error_of(e);
    return s;
}

tls_stream::error_code tls_stream::error_of(int ssl_error) {
    namespace error = boost::asio::error;
    switch (ssl_error) {
    case SSL_ERROR_ZERO_RETURN: return error::eof;  // the peer's close_notify
    case SSL_ERROR_SYSCALL:
        if (send_errno_ != 0) return {send_errno_, boost::system::system_category()};
        return boost::asio::ssl::error::stream_truncated;
    default: {
        const unsigned long err = ERR_get_error();
        if (err == 0) return boost::asio::ssl::error::stream_truncated;
        return {static_cast<int>(err), error::get_ssl_category()};
    }
    }
}

void tls_stream::make_rx_room() {
    if (!rx_) rx_ = std::make_unique_for_overwrite<unsigned char[]>(rx_cap);
    if (rx_begin_ == 0) return;
    std::memmove(rx_.get(), rx_.get() + rx_begin_, rx_end_ - rx_begin_);
    rx_end_ -= rx_begin_;
    rx_begin_ = 0;
}

tls_stream::error_code tls_stream::socket_error(const error_code& ec) {
    return ec == boost::asio::error::eof ? error_code(boost::asio::ssl::error::stream_truncated) : ec;
}

int tls_stream::bio_write(BIO* b, const char* data, std::size_t size, std::size_t* written) {
    auto* self = static_cast<tls_stream*>(BIO_get_data(b));
    BIO_clear_retry_flags(b);
    for (;;) {
        const ssize_t n = ::send(self->socket_.native_handle(), data, size, MSG_NOSIGNAL);
        ++self->sends_;
        if (n >= 0) {
            *written = static_cast<std::size_t>(n);
            return 1;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            BIO_set_retry_write(b);
        } else {
            self->send_errno_ = errno;
        }
        return 0;
    }
}

int tls_stream::bio_read(BIO* b, char* data, std::size_t size, std::size_t* got) {
    auto* self = static_cast<tls_stream*>(BIO_get_data(b));
    BIO_clear_retry_flags(b);
    const std::size_t have = self->rx_end_ - self->rx_begin_;
    if (have == 0) {  // the owner reads the socket and tries again
        BIO_set_retry_read(b);
        return 0;
    }
    const std::size_t n = std::min(have, size);
    std::memcpy(data, self->rx_.get() + self->rx_begin_, n);
    self->rx_begin_ += n;
    if (self->rx_begin_ == self->rx_end_) self->rx_begin_ = self->rx_end_ = 0;
    *got = n;
    return 1;
}

int tls_stream::bio_create(BIO* b) {
    BIO_set_init(b, 1);
    return 1;
}

long tls_stream::bio_ctrl(BIO* b, int cmd, long, void*) {
    auto* self = static_cast<tls_stream*>(BIO_get_data(b));
    switch (cmd) {
    case BIO_CTRL_FLUSH: return 1;  // every write went to the socket already
    case BIO_CTRL_PENDING: return static_cast<long>(self->rx_end_ - self->rx_begin_);
    default: return 0;  // nothing waits to be written (BIO_CTRL_WPENDING), nothing else applies
    }
}

}  // namespace net
