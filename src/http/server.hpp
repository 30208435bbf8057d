// The HTTP/1.1 server (Boost.Beast) of one worker's io_context: its acceptors (SO_REUSEPORT, like SMTP; each
// accepts through net::accept_loop, which pauses while descriptors run out) and its sessions, which it closes on
// stop. Requests go to its service (http::api or http::mailpit).
#pragma once
#include <boost/asio/ip/tcp.hpp>
#include <boost/intrusive/list.hpp>
#include <memory>

#include "http/service.hpp"
#include "net/accept_loop.hpp"

namespace http {

class session_base
    : public boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>> {
public:
    virtual ~session_base() = default;
    virtual void close() = 0;
};

class listener {
public:
    explicit listener(service& s);
    ~listener();
    // Takes a bound, listening acceptor of the worker's io_context this listener runs on; `r` hears of its
    // accept pauses.
    void adopt(std::unique_ptr<boost::asio::ip::tcp::acceptor> a, net::accept_loop::report r);
    void start();
    // Closes the acceptors and every open session (on this listener's thread).
    void stop();

    void attach(session_base& s) noexcept { sessions_.push_back(s); }

private:
    void serve(boost::asio::ip::tcp::socket s);

    service& service_;
    std::vector<std::unique_ptr<net::accept_loop>> acceptors_;
    boost::intrusive::list<session_base, boost::intrusive::constant_time_size<false>> sessions_;
    bool stopped_ = false;
};

}  // namespace http
