// The daemon's side of systemd (sd-daemon(3), through libsystemd): listening sockets handed over by socket
// activation (LISTEN_FDS, told apart by FileDescriptorName=), and a Type=notify service's notifications: READY,
// RELOADING, STOPPING, STATUS and the watchdog's keep-alive. Without LISTEN_FDS and NOTIFY_SOCKET nothing here
// does anything; nothing here runs on the SMTP path.
#pragma once
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace server::systemd {

// What a passed socket serves, named by its socket unit's FileDescriptorName=.
enum class kind { smtp, smtps, http, mailpit };
std::string_view name_of(kind k) noexcept;

struct passed_socket {
    kind what;
    int fd;      // a listening TCP socket; the caller owns it
    int family;  // AF_INET or AF_INET6
};

// The sockets the service manager passed (LISTEN_FDS, LISTEN_FDNAMES, unset afterwards), in their order, each a
// listening TCP socket with one of the names above. Throws std::runtime_error naming the first that is not.
// Empty without socket activation.
std::vector<passed_socket> take_sockets();

// What STATUS= reports.
struct status {
    std::size_t active = 0;         // open SMTP connections
    std::uint64_t transactions = 0;  // messages answered 250, since start
    bool draining = false;
};

// STATUS='s one line: "connections active 2, transactions 310, messages/s 41.5", after "draining: " in a drain.
std::string status_text(const status& s, double per_second);

// Every how often STATUS= is refreshed; messages/s is the rate over the last such interval.
inline constexpr std::chrono::seconds status_interval{5};

// Notifications to the service manager, sent from one io_context (worker 0's), on whose thread every member
// function is called. Does nothing without NOTIFY_SOCKET.
class notifier {
public:
    // `workers`: every worker's io_context, each of which must answer the watchdog's probe.
    notifier(boost::asio::io_context& home, std::vector<boost::asio::io_context*> workers,
             std::function<status()> read);
    // READY=1 with a first STATUS= (one message, so the status is the one at READY); starts the STATUS refresh
    // and, with WatchdogSec=, the keep-alive.
    void ready();
    // RELOADING=1 (with the MONOTONIC_USEC= that systemd 253's Type=notify-reload asks for) ... READY=1; nothing
    // once stopping.
    void reloading();
    void reloaded();
    // STOPPING=1 with a STATUS= that says draining.
    void stopping();
    // Cancels the timers, so that the home io_context can run out of work.
    void stop();

private:
    void send(const std::string& state);
    std::string status_line(bool tick);
    void schedule_status();
    void keep_alive();

    const bool enabled_;
    std::vector<boost::asio::io_context*> workers_;
    std::function<status()> read_;
    boost::asio::steady_timer status_timer_;
    boost::asio::steady_timer watchdog_timer_;
    std::chrono::microseconds watchdog_{0};  // WATCHDOG_USEC, when the watchdog is on
    std::atomic<std::size_t> answered_{0};   // workers that ran the last probe
    std::uint64_t last_transactions_ = 0;
    std::chrono::steady_clock::time_point last_tick_;
    double rate_ = 0;  // messages/s over the last full interval
    bool draining_ = false;
    bool stopped_ = false;
};

}  // namespace server::systemd
