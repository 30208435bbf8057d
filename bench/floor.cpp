// The floor: a measuring stick for bench/floor.sh, not a server. One thread, plain Linux epoll, canned replies:
// 220 on accept; then per line (up to LF) a reply chosen by the line's first byte alone (D: 354 and data, Q: 221
// and close, anything else: 250); in data only CR LF . CR LF is looked for, a byte at a time, then 250.
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

namespace {

constexpr int backlog = 1024;            // as bench/ runs smtp-sink; excess connections wait in the kernel
constexpr std::size_t read_size = 65536; // smtp-blackhole's largest read (server::max_read_buffer)
constexpr int max_events = 256;

constexpr std::string_view greeting = "220 floor\r\n";
constexpr std::string_view ok = "250 ok\r\n";
constexpr std::string_view go_ahead = "354 go\r\n";
constexpr std::string_view bye = "221 bye\r\n";

// What the floor remembers of one connection between reads.
struct conn {
    bool open = false;
    bool in_data = false;
    char first = 0;           // the current line's first byte; 0 at the start of a line
    std::uint8_t matched = 0; // how much of CR LF . CR LF the data has ended with (0-4)
};

struct totals {
    std::uint64_t transactions = 0;
    std::uint64_t connections = 0;
    std::uint64_t short_writes = 0; // replies that did not fit the socket at once: the connection is dropped
};

// Steps the end-of-data match by one byte; 5 means CR LF . CR LF is complete.
inline std::uint8_t step(std::uint8_t m, char c) {
    switch (c) {
    case '\r': return m == 3 ? 4 : 1;
    case '\n': return m == 1 ? 2 : m == 4 ? 5 : 0;
    case '.': return m == 2 ? 3 : 0;
    default: return 0;
    }
}

// Where one read's replies go, written with one write. Every reply answers at least one byte of input, so a
// read's replies fit in max_reply bytes per byte read.
struct reply_buffer {
    static constexpr std::size_t max_reply = bye.size();
    std::array<char, read_size * max_reply> bytes;
    std::size_t len = 0;

    void add(std::string_view r) {
        std::memcpy(bytes.data() + len, r.data(), r.size());
        len += r.size();
    }
};
static_assert(ok.size() <= reply_buffer::max_reply && go_ahead.size() <= reply_buffer::max_reply);

// Uses the bytes of one read and adds the replies they call for to `out`. Returns false after QUIT.
bool consume(conn& c, const char* p, const char* end, reply_buffer& out, totals& t) {
    while (p < end) {
        if (c.in_data) {
            std::uint8_t m = c.matched;
            while (p < end && m != 5) m = step(m, *p++);
            if (m != 5) {
                c.matched = m;
                return true;
            }
            c.in_data = false;
            c.matched = 0;
            ++t.transactions;
            out.add(ok);
            continue;
        }
        if (c.first == 0) c.first = *p;
        const void* lf = std::memchr(p, '\n', end - p);
        if (lf == nullptr) return true;
        p = static_cast<const char*>(lf) + 1;
        const char first = c.first;
        c.first = 0;
        if (first == 'D' || first == 'd') {
            c.in_data = true;
            c.matched = 2; // the DATA line's CR LF starts the terminator: "." CR LF at once is an empty message
            out.add(go_ahead);
        } else if (first == 'Q' || first == 'q') {
            out.add(bye);
            return false;
        } else {
            out.add(ok);
        }
    }
    return true;
}

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
    const bool keep = consume(conns[fd], buf.data(), buf.data() + n, out, t);
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
        conns[fd] = conn{.open = true};
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
                std::fprintf(stderr, "msg=totals transactions=%llu connections=%llu short_writes=%llu\n",
                             static_cast<unsigned long long>(t.transactions),
                             static_cast<unsigned long long>(t.connections),
                             static_cast<unsigned long long>(t.short_writes));
                return 0;
            }
            if (fd == lfd)
                on_acceptable(epfd, lfd, conns, t);
            else if (conns[fd].open)
                on_readable(epfd, fd, conns, t);
        }
    }
}
