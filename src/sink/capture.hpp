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
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sink/byte_buffer.hpp"

namespace sink {

// What a reader derives from a captured message once and keeps with it (src/inspect/'s summary for the list
// and search, the Mailpit API's summary), so that it is computed at most once per message and goes when the
// message goes. Each kind (a type deriving from this) is kept at most once per message, through
// capture_ring::keep, which counts its bytes in the ring's byte bound. sink/ never makes one nor looks inside.
struct derived_data {
    virtual ~derived_data() = default;
    // The memory it holds (its strings and vectors included), for the ring's byte bound.
    virtual std::uint64_t bytes() const noexcept = 0;
};

struct captured_message {
    std::uint64_t id = 0;
    std::int64_t received_ms = 0;
    std::string flow, mail_from, helo, client, tls;  // tls: "" for plaintext
    std::vector<std::string> rcpt_to;
    std::uint64_t size = 0;  // the whole message's size, also when raw was cut
    bool truncated = false;
    byte_buffer raw;         // header section + body, as received after dot-unstuffing (DATA) or as sent (BDAT)

    // What readers derived from it of kind T (capture_ring::keep), or null. Never used on the SMTP path.
    template <class T>
    std::shared_ptr<const T> derived() const {
        if (auto kept = derived_.load(std::memory_order_acquire))
            for (const auto& d : *kept)
                if (auto t = std::dynamic_pointer_cast<const T>(d)) return t;
        return nullptr;
    }

    // The ring's: what was kept (replaced whole, never changed in place), and its bytes (under the ring's lock).
    using derived_list = std::vector<std::shared_ptr<const derived_data>>;
    mutable std::atomic<std::shared_ptr<const derived_list>> derived_;
    mutable std::uint64_t derived_bytes_ = 0;
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
    // Drops the messages with these ids (ids not in the ring are skipped); returns how many were dropped.
    std::size_t remove(std::span<const std::uint64_t> ids);

    // Keeps `d` with `m` while the ring holds `m`, counting d->bytes() in the byte bound, and returns it; or
    // returns the one of d's kind that `m` already has (another reader was first). When `m` has left the ring,
    // or `d` does not fit beside what the ring holds (reading never evicts), `d` is returned and not kept.
    std::shared_ptr<const derived_data> keep(const captured_message& m, std::shared_ptr<const derived_data> d);

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
    using queue = std::deque<std::shared_ptr<const captured_message>>;
    void evict_locked();
    void drop_locked(const captured_message& m);
    queue::const_iterator find_locked(std::uint64_t id) const;

    const std::size_t max_messages_;
    const std::uint64_t max_bytes_;
    mutable std::mutex mutex_;
    queue q_;  // oldest first, ids increasing
    std::uint64_t bytes_ = 0, evicted_ = 0, next_id_ = 1;
    std::unordered_map<std::string, std::size_t> places_;  // first-per-flow places taken, by flow
    std::atomic<std::uint64_t> quota_epoch_{1};
    std::atomic<std::uint64_t> in_flight_{0}, cut_{0};
};

// The derived data of kind T kept with `m`, or made by `make()` (a shared_ptr<const T>) and offered to the
// ring to keep. Two readers may both make one; the first kept is what both get afterwards.
template <class T, class Make>
std::shared_ptr<const T> derived_of(capture_ring& ring, const captured_message& m, Make make) {
    if (auto kept = m.derived<T>()) return kept;
    std::shared_ptr<const T> made = make();
    return std::static_pointer_cast<const T>(ring.keep(m, std::move(made)));
}

}  // namespace sink
