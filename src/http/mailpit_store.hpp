// The capture ring as Mailpit's mailbox: the same messages (a delete here or through the main API empties the
// same ring), plus what Mailpit keeps beside each one: its summary (parsed once, on first use, kept with the
// message: sink::derived_of) and whether it was read. Thread-safe: every HTTP worker shares one store.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <unordered_set>
#include <vector>

#include "http/mailpit_summary.hpp"
#include "sink/capture.hpp"

namespace http::mailpit {

class store {
public:
    using message_ptr = std::shared_ptr<const sink::captured_message>;
    using summary_ptr = std::shared_ptr<const summary>;

    explicit store(sink::capture_ring& ring) : ring_(ring) {}

    // Every message in the ring, newest first.
    std::vector<message_ptr> messages() const;
    message_ptr find(std::uint64_t id) const { return ring_.get(id); }
    // The summary of `m`, from `parsed` when given and not known yet, else from a parse of its bytes.
    summary_ptr summary_of(const sink::captured_message& m, const inspect::message_view* parsed = nullptr) const;

    bool is_read(std::uint64_t id) const;
    void mark_read(std::uint64_t id);
    // How many of `list` were not read.
    std::size_t unread(std::span<const message_ptr> list) const;

    // Deletes these messages (or every one) from the ring; returns how many went.
    std::size_t remove(std::span<const std::uint64_t> ids);
    std::size_t clear();
    // Messages deleted through this store since start.
    std::uint64_t deleted() const noexcept { return deleted_.load(std::memory_order_relaxed); }

private:
    void prune_locked();

    sink::capture_ring& ring_;
    mutable std::mutex mutex_;
    std::unordered_set<std::uint64_t> read_;
    std::atomic<std::uint64_t> deleted_{0};
};

}  // namespace http::mailpit
