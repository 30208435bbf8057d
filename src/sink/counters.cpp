// Summing the per-thread counters into one snapshot.
#include "sink/counters.hpp"

namespace sink {

std::uint64_t totals::refused() const noexcept {
    std::uint64_t n = 0;
    for (std::size_t code = 400; code < reply_codes; ++code) n += replies[code];
    return n;
}

namespace {

// The index of `name` in `names`; the last one's for a name not in it.
template <std::size_t N>
std::size_t index_of(const std::array<std::string_view, N>& names, std::string_view name) noexcept {
    std::size_t i = 0;
    while (i + 1 < N && names[i] != name) ++i;
    return i;
}

}  // namespace

std::size_t proxy_rejection_index(std::string_view reason) noexcept { return index_of(proxy_rejections, reason); }

std::size_t tls_failure_index(std::string_view reason) noexcept { return index_of(tls_failures, reason); }

counter_set::counter_set(std::size_t threads) {
    per_thread_.reserve(threads);
    for (std::size_t i = 0; i < threads; ++i) per_thread_.push_back(std::make_unique<thread_counters>());
}

totals counter_set::sum() const noexcept {
    totals t;
    for (const auto& c : per_thread_) {
        t.connections += c->connections.get();
        t.connections_refused += c->connections_refused.get();
        t.transactions += c->transactions.get();
        t.recipients += c->recipients.get();
        t.bytes += c->bytes.get();
        t.smuggling_suspects += c->smuggling_suspects.get();
        t.tls_ok += c->tls_ok.get();
        for (std::size_t i = 0; i < tls_failures.size(); ++i) {
            t.tls_failed_by[i] += c->tls_failed[i].get();
            t.tls_failed += c->tls_failed[i].get();
        }
        t.tls_resumed += c->tls_resumed.get();
        t.starttls_dropped += c->starttls_dropped.get();
        for (std::size_t i = 0; i < proxy_rejections.size(); ++i) t.proxy_rejected[i] += c->proxy_rejected[i].get();
        for (std::size_t code = 0; code < reply_codes; ++code) t.replies[code] += c->replies[code].get();
    }
    return t;
}

}  // namespace sink
