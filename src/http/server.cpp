// HTTP sessions: read a request, answer it through the listener's service (now or, for a wait, later), keep-alive.
#include "http/server.hpp"

#include <boost/beast/core.hpp>

namespace http {
namespace {

namespace beast = boost::beast;
using tcp = boost::asio::ip::tcp;

constexpr auto idle_timeout = std::chrono::seconds(60);   // between requests on a kept-alive connection
constexpr std::size_t max_request_body = 16 * 1024;      // the API takes no bodies to speak of

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
        parser_->body_limit(max_request_body);
        stream_.expires_after(idle_timeout);
        bhttp::async_read(stream_, buf_, *parser_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            self->on_read(ec);
        });
    }

    void on_read(beast::error_code ec) {
        if (ec == bhttp::error::end_of_stream || ec) return close();
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

    beast::tcp_stream stream_;
    service& service_;
    beast::flat_buffer buf_;
    std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
    request req_;
    std::shared_ptr<response> res_;
};

}  // namespace

listener::listener(boost::asio::io_context& ctx, service& s) : ctx_(ctx), service_(s) {}

listener::~listener() = default;

void listener::start() {
    for (auto& a : acceptors_) accept(*a);
}

void listener::accept(tcp::acceptor& a) {
    a.async_accept([this, &a](beast::error_code ec, tcp::socket s) {
        if (stopped_ || ec == boost::asio::error::operation_aborted) return;
        if (!ec) {
            auto sess = std::make_shared<session>(std::move(s), service_);
            attach(*sess);
            sess->run();
            return accept(a);
        }
        // Out of descriptors and the like: try again shortly rather than spin.
        auto t = std::make_shared<boost::asio::steady_timer>(ctx_, std::chrono::milliseconds(100));
        t->async_wait([this, &a, t](beast::error_code e) {
            if (!e && !stopped_) accept(a);
        });
    });
}

void listener::stop() {
    stopped_ = true;
    for (auto& a : acceptors_) {
        beast::error_code ec;
        a->close(ec);
    }
    for (auto& s : sessions_) s.close();
}

}  // namespace http
