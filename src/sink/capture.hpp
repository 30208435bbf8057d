// The capture ring: sampled messages kept whole, bounded by count and by bytes, oldest evicted first.
// Workers push (one short lock per sampled message); readers list and fetch. Entries are immutable and shared,
// so a reader holds a message safely after it is evicted. The bytes that sampled messages hold while they are
// still being received are bounded too, by a budget of the same size (see take_in_flight).
#pragma once
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sink/byte_buffer.hpp"

namespace sink {

// What a reader derives from a captured message once and keeps with it (src/inspect/'s summary: the decoded
// subject and addresses), so that it is computed at most once per message and goes when the message goes.
// sink/ never makes one nor looks inside.
struct derived_data {
    virtual ~derived_data() = default;
};

struct captured_message {
    std::uint64_t id = 0;
    std::int64_t received_ms = 0;
    std::string flow, mail_from, helo, client, tls;  // tls: "" for plaintext
    std::vector<std::string> rcpt_to;
    std::uint64_t size = 0;  // the whole message's size, also when raw was cut
    bool truncated = false;
    byte_buffer raw;         // header section + body, as received after dot-unstuffing (DATA) or as sent (BDAT)
    // Set by a reader, once (whoever stores first wins), never on the SMTP path. See derived_data.
    mutable std::atomic<std::shared_ptr<const derived_data>> derived;
};

class capture_ring {
public:
    capture_ring(std::size_t max_messages, std::uint64_t max_bytes);
    // Adds a message (its id is assigned here) and evicts the oldest ones beyond the bounds.
    void push(std::shared_ptr<captured_message> m);
    // Newest first, only ids below `before`; `flow` "" for every flow.
    std::vector<std::shared_ptr<const captured_message>> list(std::string_view flow, std::size_t limit,
                                                              std::uint64_t before = UINT64_MAX) const;
    std::shared_ptr<const captured_message> get(std::uint64_t id) const;
    // Empties the ring (and restarts the first-per-flow quota); returns how many were dropped.
    std::size_t clear();

    // First-per-flow sampling: takes one of the flow's `quota` places; false once they are all taken.
    bool take_first_place(std::string_view flow, std::size_t quota);
    // Changes whenever the quota restarts, so that threads drop what they cached about it.
    std::uint64_t quota_epoch() const noexcept { return quota_epoch_.load(std::memory_order_acquire); }

    std::size_t count() const;
    std::uint64_t bytes() const;
    std::uint64_t evicted() const;

    // Memory of messages being captured while they are received: a capture takes `n` bytes before it grows
    // its buffer (false: the budget, max_bytes again, is spent, and the capture must stop there) and gives
    // them back when the message is pushed or dropped. So the ring and the messages in flight together hold
    // at most twice --capture-bytes, however many connections send at once.
    bool take_in_flight(std::uint64_t n) noexcept;
    void give_in_flight(std::uint64_t n) noexcept { in_flight_.fetch_sub(n, std::memory_order_relaxed); }
    std::uint64_t in_flight() const noexcept { return in_flight_.load(std::memory_order_relaxed); }
    // Captures cut short (or not started) because the in-flight budget was spent.
    void count_cut() noexcept { cut_.fetch_add(1, std::memory_order_relaxed); }
    std::uint64_t cut() const noexcept { return cut_.load(std::memory_order_relaxed); }

private:
    void evict_locked();

    const std::size_t max_messages_;
    const std::uint64_t max_bytes_;
    mutable std::mutex mutex_;
    std::deque<std::shared_ptr<const captured_message>> q_;  // oldest first, ids increasing
    std::uint64_t bytes_ = 0, evicted_ = 0, next_id_ = 1;
    std::unordered_map<std::string, std::size_t> places_;  // first-per-flow places taken, by flow
    std::atomic<std::uint64_t> quota_epoch_{1};
    std::atomic<std::uint64_t> in_flight_{0}, cut_{0};
};

}  // namespace sink
