// Exact counters, one set per worker thread: each is written by its own thread only (a plain load and store,
// no locked instruction) and summed by whoever reads. No lock and no shared cache line on the SMTP path.
#pragma once
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

namespace sink {

// A counter written by one thread and read by any.
class owned_counter {
public:
    void add(std::uint64_t n = 1) noexcept { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
    std::uint64_t get() const noexcept { return v_.load(std::memory_order_relaxed); }
    void set(std::uint64_t n) noexcept { v_.store(n, std::memory_order_relaxed); }

private:
    std::atomic<std::uint64_t> v_{0};
};

inline constexpr std::size_t reply_codes = 600;  // codes 0..599, indexed directly

// Why a connection was closed before its greeting under --proxy-protocol-from (the metric's `reason` label): the
// PROXY header parser's reasons (proxy::to_string), then the server's own: a peer outside the networks, no whole
// header within its deadline, the peer gone before a whole header.
inline constexpr std::array<std::string_view, 8> proxy_rejections = {
    "not_proxy", "bad_v1", "bad_v2", "too_long", "unsupported", "untrusted", "timeout", "eof"};
// The index of `reason` in proxy_rejections; the last one's for a name not in it.
std::size_t proxy_rejection_index(std::string_view reason) noexcept;

// Why a TLS handshake failed (the metric's `reason` label; server/tls_policy.cpp tells them from OpenSSL's error):
// no version both sides allow, no TLS 1.2 cipher or TLS 1.3 cipher suite in common, no key-exchange group in
// common (TLS 1.3), the client's own alert (its certificate check, mostly), no whole handshake within
// --tls-handshake-timeout, anything else (a non-TLS first byte, a reset, a cut-off handshake).
inline constexpr std::array<std::string_view, 6> tls_failures = {
    "protocol_version", "no_shared_cipher", "no_shared_group", "peer_alert", "timeout", "other"};
// The index of `reason` in tls_failures; the last one's ("other") for a name not in it.
std::size_t tls_failure_index(std::string_view reason) noexcept;

struct alignas(64) thread_counters {
    owned_counter connections;          // accepted connections
    owned_counter connections_refused;  // closed at once with 421 (--max-connections)
    owned_counter transactions;         // messages answered 250 at end of data
    owned_counter recipients;           // recipients of those messages
    owned_counter bytes;                // message octets of those messages
    owned_counter smuggling_suspects;   // accepted messages with a bare-LF/CR "." line
    owned_counter tls_ok;               // TLS handshakes that succeeded
    std::array<owned_counter, tls_failures.size()> tls_failed{};  // and those that failed, by tls_failures' index
    owned_counter tls_resumed;          // of those ok, resumed sessions
    owned_counter starttls_dropped;     // plaintext bytes dropped after STARTTLS (RFC 3207 4.2)
    std::array<owned_counter, proxy_rejections.size()> proxy_rejected{};  // by proxy_rejections' index
    std::array<owned_counter, reply_codes> replies{};  // every reply sent, by code
};

// A plain snapshot of the sum over threads.
struct totals {
    std::uint64_t connections = 0, connections_refused = 0, transactions = 0, recipients = 0, bytes = 0,
                  smuggling_suspects = 0, tls_ok = 0, tls_failed = 0, tls_resumed = 0, starttls_dropped = 0;
    std::array<std::uint64_t, proxy_rejections.size()> proxy_rejected{};
    std::array<std::uint64_t, tls_failures.size()> tls_failed_by{};  // tls_failed by reason (they sum to it)
    std::array<std::uint64_t, reply_codes> replies{};
    // Replies of class 4 and 5: the refusals.
    std::uint64_t refused() const noexcept;
};

class counter_set {
public:
    explicit counter_set(std::size_t threads);
    thread_counters& for_thread(std::size_t i) noexcept { return *per_thread_[i]; }
    std::size_t threads() const noexcept { return per_thread_.size(); }
    totals sum() const noexcept;

private:
    std::vector<std::unique_ptr<thread_counters>> per_thread_;
};

}  // namespace sink
