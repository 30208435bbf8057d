// See accept_loop.hpp.
#include "net/accept_loop.hpp"

#include <cerrno>

namespace net {

bool is_resource_shortage(const boost::system::error_code& ec) noexcept {
    return ec == boost::asio::error::no_descriptors || ec.value() == ENFILE ||
           ec == boost::asio::error::no_buffer_space || ec == boost::asio::error::no_memory;
}

accept_loop::accept_loop(tcp::acceptor a, handler on_socket, report r)
    : acceptor_(std::move(a)), pause_(acceptor_.get_executor()), on_socket_(std::move(on_socket)),
      report_(std::move(r)) {}

void accept_loop::start() { accept(); }

void accept_loop::stop() noexcept {
    stopped_ = true;
    boost::system::error_code ec;
    acceptor_.close(ec);
    pause_.cancel();
}

void accept_loop::accept() {
    acceptor_.async_accept(peer_,
                           [this](const boost::system::error_code& ec, tcp::socket s) { on_accept(ec, std::move(s)); });
}

void accept_loop::on_accept(const boost::system::error_code& ec, tcp::socket s) {
    if (stopped_ || ec == boost::asio::error::operation_aborted) return;
    if (is_resource_shortage(ec)) {
        if (pauses_++ == 0 && report_.paused) report_.paused(ec);
        pause_.expires_after(accept_pause);
        pause_.async_wait([this](const boost::system::error_code& e) {
            if (!e && !stopped_) accept();
        });
        return;
    }
    if (ec) {
        if (report_.failed) report_.failed(ec);
        return accept();
    }
    if (pauses_ > 0) {
        if (report_.resumed) report_.resumed(pauses_);
        pauses_ = 0;
    }
    const tcp::endpoint peer = peer_;  // before the next accept, which may write peer_ at once
    accept();
    on_socket_(std::move(s), peer);
}

}  // namespace net
