// The HTTP/1.1 server (Boost.Beast) of one worker's io_context: its acceptor (SO_REUSEPORT, like SMTP) and
// its sessions, which it closes on stop. Requests go to its service (http::api or http::mailpit).
#pragma once
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/intrusive/list.hpp>
#include <memory>

#include "http/service.hpp"

namespace http {

class session_base
    : public boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>> {
public:
    virtual ~session_base() = default;
    virtual void close() = 0;
};

class listener {
public:
    listener(boost::asio::io_context& ctx, service& s);
    ~listener();
    // Takes a bound, listening acceptor of this listener's io_context.
    void adopt(std::unique_ptr<boost::asio::ip::tcp::acceptor> a) { acceptors_.push_back(std::move(a)); }
    void start();
    // Closes the acceptors and every open session (on this listener's thread).
    void stop();

    void attach(session_base& s) noexcept { sessions_.push_back(s); }

private:
    void accept(boost::asio::ip::tcp::acceptor& a);

    boost::asio::io_context& ctx_;
    service& service_;
    std::vector<std::unique_ptr<boost::asio::ip::tcp::acceptor>> acceptors_;
    boost::intrusive::list<session_base, boost::intrusive::constant_time_size<false>> sessions_;
    bool stopped_ = false;
};

}  // namespace http
