// net::accept_loop out of descriptors: a connection waiting in the backlog while the process has none left is not
// accepted, the loop pauses without spinning and says so once, and accepts it as soon as a descriptor frees up.
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <cerrno>
#include <doctest/doctest.h>
#include <string>
#include <vector>

#include "net/accept_loop.hpp"

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// Lowers the soft descriptor limit for the test's length and takes every descriptor left under it (dup()s of `fd`).
class exhausted {
public:
    explicit exhausted(int fd) {
        ::getrlimit(RLIMIT_NOFILE, &saved_);
        rlimit low = saved_;
        low.rlim_cur = std::min<rlim_t>(saved_.rlim_cur, 256);
        ::setrlimit(RLIMIT_NOFILE, &low);
        while (fds_.size() < 256) {
            const int d = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
            if (d < 0) {
                full_ = errno == EMFILE;
                break;
            }
            fds_.push_back(d);
        }
    }
    ~exhausted() {
        release();
        ::setrlimit(RLIMIT_NOFILE, &saved_);
    }
    exhausted(const exhausted&) = delete;
    exhausted& operator=(const exhausted&) = delete;
    void release() {
        for (int fd : fds_) ::close(fd);
        fds_.clear();
    }
    bool full() const noexcept { return full_; }

private:
    rlimit saved_{};
    std::vector<int> fds_;
    bool full_ = false;
};

}  // namespace

TEST_CASE("descriptor shortages are the errors that pause accepting") {
    CHECK(net::is_resource_shortage(asio::error::no_descriptors));
    CHECK(net::is_resource_shortage(boost::system::error_code(ENFILE, boost::system::system_category())));
    CHECK(net::is_resource_shortage(asio::error::no_buffer_space));
    CHECK(net::is_resource_shortage(asio::error::no_memory));
    CHECK_FALSE(net::is_resource_shortage(asio::error::connection_aborted));
    CHECK_FALSE(net::is_resource_shortage(asio::error::operation_aborted));
    CHECK_FALSE(net::is_resource_shortage({}));
}

TEST_CASE("out of descriptors the accept loop pauses, reports once, and accepts when one frees up") {
    asio::io_context ctx;
    tcp::acceptor a(ctx, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    tcp::socket client(ctx);
    client.open(tcp::v4());  // its descriptor is taken before the others run out
    std::vector<std::string> events;
    std::size_t accepted = 0;
    net::accept_loop::report r{
        .paused = [&](const boost::system::error_code& ec) { events.push_back("paused " + ec.message()); },
        .resumed = [&](std::size_t pauses) { events.push_back(pauses >= 2 ? "resumed" : "resumed too soon"); },
        .failed = [&](const boost::system::error_code& ec) { events.push_back("failed " + ec.message()); },
    };
    const auto ep = a.local_endpoint();
    net::accept_loop loop(std::move(a), [&](tcp::socket, const tcp::endpoint&) { ++accepted; }, std::move(r));
    exhausted fds(client.native_handle());
    REQUIRE(fds.full());
    client.connect(ep);  // completes in the backlog: connect needs no new descriptor
    loop.start();
    ctx.run_for(std::chrono::milliseconds(450));  // about four pauses
    CHECK(accepted == 0);
    CHECK(events == std::vector<std::string>{"paused Too many open files"});
    fds.release();
    for (int i = 0; i < 50 && accepted == 0; ++i) ctx.run_for(std::chrono::milliseconds(20));
    CHECK(accepted == 1);
    CHECK(events == std::vector<std::string>{"paused Too many open files", "resumed"});
    loop.stop();
    ctx.run_for(std::chrono::milliseconds(150));  // a stopped loop neither accepts nor pauses again
    CHECK(accepted == 1);
    CHECK(events.size() == 2);
}
