// One listening socket's accept loop, shared by the SMTP and HTTP listeners: accept, hand the socket on, accept
// again. Out of descriptors or memory, accepting pauses (the listener stays readable, so retrying at once would
// spin) while new connections wait in the kernel's backlog; the owner hears of each episode once, not per pause.
#pragma once
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <functional>

namespace net {

using tcp = boost::asio::ip::tcp;

// How long to wait before accepting again when the process is out of descriptors or memory.
inline constexpr std::chrono::milliseconds accept_pause{100};

// EMFILE, ENFILE, ENOBUFS, ENOMEM: accept failed for want of a resource that a closing connection frees.
bool is_resource_shortage(const boost::system::error_code& ec) noexcept;

class accept_loop {
public:
    // What the owner hears (each may be empty): `paused` at the first pause of an episode, `resumed` at the first
    // accept after it (with the number of pauses it took), `failed` for any other accept error (accepting goes on).
    struct report {
        std::function<void(const boost::system::error_code&)> paused;
        std::function<void(std::size_t pauses)> resumed;
        std::function<void(const boost::system::error_code&)> failed;
    };
    // The accepted socket and its peer's address as accept() gave it (no getpeername needed).
    using handler = std::function<void(tcp::socket, const tcp::endpoint& peer)>;

    accept_loop(tcp::acceptor a, handler on_socket, report r);
    void start();
    // Closes the acceptor and ends a pause; on_socket is not called again. On the acceptor's thread.
    void stop() noexcept;

private:
    void accept();
    void on_accept(const boost::system::error_code& ec, tcp::socket s);

    tcp::acceptor acceptor_;
    boost::asio::steady_timer pause_;
    handler on_socket_;
    report report_;
    tcp::endpoint peer_;      // the pending accept's client address, written by accept()
    std::size_t pauses_ = 0;  // in the current episode
    bool stopped_ = false;
};

}  // namespace net
