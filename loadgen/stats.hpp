// What one thread counts: counters the progress line reads while the run goes on (single writer, relaxed
// atomics: no locked instruction on the hot path), and the exact per-code, per-flow counts and latency
// histograms, read only after the thread has stopped and merged into one report.
#pragma once
#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "histogram.hpp"

namespace loadgen {

// A counter with one writing thread and any number of readers.
class counter {
public:
    void add(std::uint64_t n = 1) noexcept { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
    void sub(std::uint64_t n = 1) noexcept { v_.store(v_.load(std::memory_order_relaxed) - n, std::memory_order_relaxed); }
    std::uint64_t get() const noexcept { return v_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::uint64_t> v_{0};
};

inline constexpr std::size_t reply_codes = 600;

struct thread_stats {
    // Live (read by the progress line).
    counter sent;             // transactions started (MAIL written)
    counter accepted;         // final 250 received
    counter refused;          // transactions ended by a refusal (4xx/5xx)
    counter lost;             // transactions cut by a connection error or timeout (and not sent again)
    counter retried;          // attempts that failed and whose message was queued again (--retries)
    counter retried_lost;     // of those: cut by a connection error, a 421 or a timeout
    counter in_flight;        // transactions started and not ended
    counter connections;      // connections established (TCP)
    counter connect_errors;   // connect failed or timed out
    counter tls_errors;       // TLS handshakes that failed
    counter conn_errors;      // established connections that broke: reset, EOF, timeout, 421, garbage
    counter protocol_errors;  // an unexpected reply outside a transaction (greeting, EHLO, STARTTLS, AUTH)
    counter tls_handshakes;   // TLS handshakes that succeeded
    counter tls_resumed;      // of those: resumed sessions (--tls-resume)
    // Final (read after the thread stopped).
    std::array<std::uint64_t, reply_codes> refused_by_code{};
    std::vector<std::uint64_t> accepted_by_flow;
    histogram txn, connect, tls;
    std::string first_error;  // what went wrong first, for the report

    std::uint64_t errors() const noexcept {
        return refused.get() + connect_errors.get() + tls_errors.get() + conn_errors.get() + protocol_errors.get();
    }
};

}  // namespace loadgen
