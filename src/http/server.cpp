// HTTP sessions: read a request, answer it through the listener's service (now or, for a wait, later), keep-alive.
// A request the parser refuses (too large, not HTTP) is answered as rejection.hpp says, then the connection closes.
#include "http/server.hpp"

#include <boost/beast/core.hpp>

#include "http/rejection.hpp"

namespace http {
namespace {

namespace beast = boost::beast;
using tcp = boost::asio::ip::tcp;

// From accepting a connection, or writing an answer on it, to the end of the next request: a request that is not
// whole by then (a slow or stalled client) is closed without an answer, as an idle kept-alive connection is.
constexpr auto idle_timeout = std::chrono::seconds(60);
// After a refusal: how long, and how much of, what the client still sends (the body it declared, the rest of its
// garbage) is read and thrown away before the close, so that unread bytes do not turn the close into a TCP reset
// that destroys the answer before the client reads it.
constexpr auto linger_time = std::chrono::seconds(2);
constexpr std::size_t linger_bytes = 1024 * 1024;
constexpr std::size_t linger_read = 16 * 1024;  // one read's worth of it

class session final : public session_base, public std::enable_shared_from_this<session> {
public:
    session(tcp::socket s, service& a) : stream_(std::move(s)), service_(a) {}

    void run() { read(); }
    void close() override {
        beast::error_code ec;
        stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
        stream_.close();
    }

private:
    void read() {
        req_ = {};
        parser_.emplace();
        set_limits(*parser_, service_.body_limit());
        stream_.expires_after(idle_timeout);
        bhttp::async_read_header(stream_, buf_, *parser_,
                                 [self = shared_from_this()](beast::error_code ec, std::size_t header_bytes) {
                                     self->on_header(ec, header_bytes);
                                 });
    }

    void on_header(beast::error_code ec, std::size_t header_bytes) {
        if (auto r = ec ? std::nullopt : reject_header(header_bytes)) return refuse(*r);
        if (ec || parser_->is_done()) return on_read(ec);
        bhttp::async_read(stream_, buf_, *parser_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            self->on_read(ec);
        });
    }

    void on_read(beast::error_code ec) {
        if (ec) {
            if (auto r = reject(ec, service_.body_limit())) return refuse(*r);
            return close();
        }
        req_ = parser_->release();
        stream_.expires_never();  // a wait may take minutes; the api answers it in time
        service_.handle(req_, stream_.get_executor(), [self = shared_from_this()](response r) {
            self->write(std::move(r));
        });
    }

    void write(response r) {
        res_ = std::make_shared<response>(std::move(r));
        bool keep = res_->keep_alive() && req_.keep_alive();
        res_->keep_alive(keep);
        stream_.expires_after(idle_timeout);
        bhttp::async_write(stream_, *res_, [self = shared_from_this(), keep](beast::error_code ec, std::size_t) {
            if (ec || !keep) return self->close();
            self->read();
        });
    }

    // Answers a request that could not be read, then half-closes and lingers (see linger_time).
    void refuse(const rejection& r) {
        res_ = std::make_shared<response>(make_response(r));
        stream_.expires_after(idle_timeout);
        bhttp::async_write(stream_, *res_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            beast::error_code e;
            if (!ec) self->stream_.socket().shutdown(tcp::socket::shutdown_send, e);
            if (ec || e) return self->close();
            self->stream_.expires_after(linger_time);
            self->buf_.clear();
            self->discard(0);
        });
    }

    // Reads and drops the client's bytes until it closes, linger_bytes have come or linger_time has passed.
    void discard(std::size_t total) {
        stream_.async_read_some(buf_.prepare(linger_read), [self = shared_from_this(), total](beast::error_code ec,
                                                                                              std::size_t n) {
            if (ec || total + n >= linger_bytes) return self->close();
            self->discard(total + n);
        });
    }

    beast::tcp_stream stream_;
    service& service_;
    beast::flat_buffer buf_;
    std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
    request req_;
    std::shared_ptr<response> res_;
};

}  // namespace

listener::listener(service& s) : service_(s) {}

listener::~listener() = default;

void listener::adopt(std::unique_ptr<tcp::acceptor> a, net::accept_loop::report r) {
    auto serve_it = [this](tcp::socket s, const tcp::endpoint&) { serve(std::move(s)); };
    acceptors_.push_back(std::make_unique<net::accept_loop>(std::move(*a), std::move(serve_it), std::move(r)));
}

void listener::start() {
    for (auto& a : acceptors_) a->start();
}

void listener::serve(tcp::socket s) {
    if (stopped_) return;
    auto sess = std::make_shared<session>(std::move(s), service_);
    attach(*sess);
    sess->run();
}

void listener::stop() {
    stopped_ = true;
    for (auto& a : acceptors_) a->stop();
    for (auto& s : sessions_) s.close();
}

}  // namespace http
