// The floor: a measuring stick for bench/floor.sh, not a server. One thread, plain Linux epoll, the canned replies
// of floor_canned.hpp (a reply chosen by each line's first byte; in data a byte loop for CR LF . CR LF).
// No parsing, no limits, no timeouts, no EHLO capabilities, one write per read: it is what any SMTP sink must at
// least do for a client that waits for each reply (postfix's smtp-source), so the daemon's cost can be put beside
// it. A reply that does not fit the socket at once drops the connection (counted): smtp-source, which reads
// every reply before it writes again, never leaves the socket full.
//
// Usage: floor [PORT]   listens on 127.0.0.1:PORT (default 0: any free port) and says which on stderr as
// "listening smtp 127.0.0.1:PORT"; on SIGTERM or SIGINT it prints "msg=totals transactions=N ..." (N: ends of
// data seen) and exits 0. Both lines are in smtp-blackhole's log format, so bench/lib.sh reads them for both.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

#include "floor_canned.hpp"

namespace {

constexpr int backlog = 1024;            // as bench/ runs smtp-sink; excess connections wait in the kernel
constexpr int max_events = 256;

using namespace canned;

// What the floor remembers of one connection: whether its descriptor is open, and its canned session.
struct conn {
    bool open = false;
    session s;
};

void close_conn(int epfd, int fd, std::vector<conn>& conns) {
    epoll_ctl(epfd, EPOLL_CTL_DEL, fd, nullptr);
    close(fd);
    conns[fd] = conn{};
}

// Reads what one connection sent and answers it with one write.
void on_readable(int epfd, int fd, std::vector<conn>& conns, totals& t) {
    static std::array<char, read_size> buf;
    static reply_buffer out;
    const ssize_t n = read(fd, buf.data(), buf.size());
    if (n <= 0) {
        close_conn(epfd, fd, conns);
        return;
    }
    out.len = 0;
    const bool keep = consume(conns[fd].s, buf.data(), buf.data() + n, out, t);
    if (out.len > 0 && write(fd, out.bytes.data(), out.len) != static_cast<ssize_t>(out.len)) {
        ++t.short_writes;
        close_conn(epfd, fd, conns);
        return;
    }
    if (!keep) close_conn(epfd, fd, conns);
}

// Accepts every waiting connection, greets it and watches it.
void on_acceptable(int epfd, int lfd, std::vector<conn>& conns, totals& t) {
    for (;;) {
        const int fd = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;
        ++t.connections;
        if (static_cast<std::size_t>(fd) >= conns.size()) conns.resize(fd * 2 + 1);
        conns[fd] = conn{.open = true, .s = {}};
        if (write(fd, greeting.data(), greeting.size()) != static_cast<ssize_t>(greeting.size())) {
            ++t.short_writes;
            close(fd);
            conns[fd] = conn{};
            continue;
        }
        epoll_event ev{.events = EPOLLIN, .data = {.fd = fd}};
        epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
    }
}

int listen_on(std::uint16_t port) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, backlog) != 0) {
        std::perror("floor: listen");
        std::exit(2);
    }
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    std::fprintf(stderr, "listening smtp 127.0.0.1:%u\n", ntohs(a.sin_port));
    return fd;
}

} // namespace

int main(int argc, char** argv) {
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    sigprocmask(SIG_BLOCK, &stop, nullptr);
    const int sfd = signalfd(-1, &stop, SFD_CLOEXEC);
    const int lfd = listen_on(static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 0));
    const int epfd = epoll_create1(EPOLL_CLOEXEC);
    epoll_event ev{.events = EPOLLIN, .data = {.fd = lfd}};
    epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev);
    ev.data.fd = sfd;
    epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &ev);

    std::vector<conn> conns(1024);
    totals t;
    std::array<epoll_event, max_events> events;
    for (;;) {
        const int n = epoll_wait(epfd, events.data(), max_events, -1);
        for (int i = 0; i < n; ++i) {
            const int fd = events[i].data.fd;
            if (fd == sfd) {
                print_totals(t);
                return 0;
            }
            if (fd == lfd)
                on_acceptable(epfd, lfd, conns, t);
            else if (conns[fd].open)
                on_readable(epfd, fd, conns, t);
        }
    }
}
