// Socket activation and Type=notify notifications through libsystemd. See systemd.hpp.
#include "server/systemd.hpp"

#include <sys/socket.h>
#include <systemd/sd-daemon.h>

#include <array>
#include <boost/asio/post.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <optional>
#include <stdexcept>

#include "server/log.hpp"

namespace server::systemd {

namespace {

constexpr std::array<std::pair<std::string_view, kind>, 4> kinds{
    {{"smtp", kind::smtp}, {"smtps", kind::smtps}, {"http", kind::http}, {"mailpit", kind::mailpit}}};

std::optional<kind> kind_named(std::string_view name) {
    for (const auto& [n, k] : kinds)
        if (n == name) return k;
    return std::nullopt;
}

// Frees what sd_listen_fds_with_names() allocated: each name, then the array.
struct names_owner {
    char** names = nullptr;
    ~names_owner() {
        if (!names) return;
        for (char** n = names; *n; ++n) std::free(*n);
        std::free(names);
    }
};

}  // namespace

std::string_view name_of(kind k) noexcept {
    for (const auto& [n, each] : kinds)
        if (each == k) return n;
    return "?";
}

std::vector<passed_socket> take_sockets() {
    names_owner owner;
    const int n = sd_listen_fds_with_names(1, &owner.names);
    if (n < 0) throw std::runtime_error(std::string("cannot read LISTEN_FDS: ") + std::strerror(-n));
    std::vector<passed_socket> out;
    for (int i = 0; i < n; ++i) {
        const int fd = SD_LISTEN_FDS_START + i;
        const std::string name = log::escape(owner.names && owner.names[i] ? owner.names[i] : "unknown", 64);
        const std::string which = "the socket systemd passed as fd " + std::to_string(fd) + " (" + name + ")";
        const auto k = kind_named(name);
        if (!k)
            throw std::runtime_error(which +
                                     " has an unknown name: FileDescriptorName= must be smtp, smtps, http or mailpit");
        if (sd_is_socket_inet(fd, AF_UNSPEC, SOCK_STREAM, 1, 0) <= 0)
            throw std::runtime_error(which + " is not a listening TCP socket");
        sockaddr_storage addr{};
        socklen_t len = sizeof addr;
        if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
            throw std::runtime_error(which + ": " + std::strerror(errno));
        out.push_back({*k, fd, addr.ss_family});
    }
    return out;
}

std::string status_text(const status& s, double per_second) {
    std::array<char, 32> rate{};
    std::snprintf(rate.data(), rate.size(), "%.1f", per_second);
    return std::string(s.draining ? "draining: " : "") + "connections active " + std::to_string(s.active) +
           ", transactions " + std::to_string(s.transactions) + ", messages/s " + rate.data();
}

notifier::notifier(boost::asio::io_context& home, std::vector<boost::asio::io_context*> workers,
                   std::function<status()> read)
    : enabled_(std::getenv("NOTIFY_SOCKET") != nullptr), workers_(std::move(workers)), read_(std::move(read)),
      status_timer_(home), watchdog_timer_(home) {
    std::uint64_t usec = 0;
    if (enabled_ && sd_watchdog_enabled(0, &usec) > 0) watchdog_ = std::chrono::microseconds(usec);
}

void notifier::send(const std::string& state) { sd_notify(0, state.c_str()); }  // failures change nothing

void notifier::ready() {
    if (!enabled_) return;
    last_tick_ = std::chrono::steady_clock::now();
    last_transactions_ = read_().transactions;
    send("READY=1\n" + status_line(false));
    schedule_status();
    if (watchdog_.count() == 0) return;
    answered_.store(workers_.size(), std::memory_order_relaxed);
    keep_alive();
}

// Not while stopping: systemd is taking the service down, and a READY=1 would say otherwise.
void notifier::reloading() {
    if (!enabled_ || draining_) return;
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    const auto usec = std::uint64_t(now.tv_sec) * 1'000'000 + std::uint64_t(now.tv_nsec) / 1000;
    send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

void notifier::reloaded() {
    if (enabled_ && !draining_) send("READY=1");
}

void notifier::stopping() {
    if (!enabled_) return;
    draining_ = true;
    send("STOPPING=1\n" + status_line(false));
}

void notifier::stop() {
    stopped_ = true;
    status_timer_.cancel();
    watchdog_timer_.cancel();
}

// `STATUS=...` as it stands; at a tick, with the rate over the interval that just ended.
std::string notifier::status_line(bool tick) {
    const status s = read_();
    if (tick) {
        const auto now = std::chrono::steady_clock::now();
        const double seconds = std::chrono::duration<double>(now - last_tick_).count();
        rate_ = seconds > 0 ? double(s.transactions - last_transactions_) / seconds : 0;
        last_tick_ = now;
        last_transactions_ = s.transactions;
    }
    return "STATUS=" + status_text(s, rate_);
}

void notifier::schedule_status() {
    status_timer_.expires_after(status_interval);
    status_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec || stopped_) return;
        send(status_line(true));
        schedule_status();
    });
}

// WATCHDOG=1 if every worker ran the probe posted last time (a stuck worker stops the keep-alives, and systemd
// restarts the service); in a drain regardless, as workers that are done stop answering. Then the next probe.
void notifier::keep_alive() {
    if (draining_ || answered_.load(std::memory_order_relaxed) >= workers_.size()) send("WATCHDOG=1");
    answered_.store(0, std::memory_order_relaxed);
    for (auto* w : workers_)
        boost::asio::post(*w, [this] { answered_.fetch_add(1, std::memory_order_relaxed); });
    watchdog_timer_.expires_after(watchdog_ / 2);
    watchdog_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec && !stopped_) keep_alive();
    });
}

}  // namespace server::systemd
