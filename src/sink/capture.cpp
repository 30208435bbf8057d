// The capture ring. See capture.hpp.
#include "sink/capture.hpp"

#include <algorithm>
#include <typeinfo>

namespace sink {
namespace {
// Flows remembered for first-per-flow sampling; past this, new flows get no guaranteed sample (memory bound).
constexpr std::size_t max_quota_flows = 100000;
}  // namespace

capture_ring::capture_ring(std::size_t max_messages, std::uint64_t max_bytes)
    : max_messages_(max_messages), max_bytes_(max_bytes) {}

void capture_ring::push(std::shared_ptr<captured_message> m) {
    std::lock_guard lock(mutex_);
    m->id = next_id_++;
    if (max_messages_ == 0 || m->raw.size() > max_bytes_) {  // can never fit: as if evicted at once
        ++evicted_;
        return;
    }
    bytes_ += m->raw.size();
    q_.push_back(std::move(m));
    evict_locked();
}

void capture_ring::evict_locked() {
    while (!q_.empty() && (q_.size() > max_messages_ || bytes_ > max_bytes_)) {
        drop_locked(*q_.front());
        q_.pop_front();
        ++evicted_;
    }
}

// `m` leaves the ring: its bytes and those of what was kept with it no longer count.
void capture_ring::drop_locked(const captured_message& m) {
    bytes_ -= m.raw.size() + m.derived_bytes_;
}

std::vector<std::shared_ptr<const captured_message>> capture_ring::list(std::string_view flow, std::size_t limit,
                                                                         std::uint64_t before) const {
    std::vector<std::shared_ptr<const captured_message>> out;
    std::lock_guard lock(mutex_);
    // Ids increase from front to back: start below `before` (found by bisection), then walk to the front.
    auto end = std::lower_bound(q_.begin(), q_.end(), before, [](const auto& m, std::uint64_t v) { return m->id < v; });
    for (auto it = std::make_reverse_iterator(end); it != q_.rend() && out.size() < limit; ++it)
        if (flow.empty() || (*it)->flow == flow) out.push_back(*it);
    return out;
}

// Where message `id` is in the queue (ids increase along it), or end().
capture_ring::queue::const_iterator capture_ring::find_locked(std::uint64_t id) const {
    auto it = std::lower_bound(q_.begin(), q_.end(), id, [](const auto& m, std::uint64_t v) { return m->id < v; });
    return it != q_.end() && (*it)->id == id ? it : q_.end();
}

std::shared_ptr<const captured_message> capture_ring::get(std::uint64_t id) const {
    std::lock_guard lock(mutex_);
    auto it = find_locked(id);
    return it == q_.end() ? nullptr : *it;
}

std::size_t capture_ring::clear() {
    std::lock_guard lock(mutex_);
    auto n = q_.size();
    q_.clear();
    bytes_ = 0;
    places_.clear();
    quota_epoch_.fetch_add(1, std::memory_order_release);
    return n;
}

std::size_t capture_ring::remove(std::span<const std::uint64_t> ids) {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (auto id : ids) {
        auto it = find_locked(id);
        if (it == q_.end()) continue;
        drop_locked(**it);
        q_.erase(it);
        ++n;
    }
    return n;
}

std::shared_ptr<const derived_data> capture_ring::keep(const captured_message& m,
                                                       std::shared_ptr<const derived_data> d) {
    std::lock_guard lock(mutex_);
    auto kept = m.derived_.load(std::memory_order_acquire);
    if (kept)
        for (const auto& k : *kept)
            if (typeid(*k) == typeid(*d)) return k;
    auto it = find_locked(m.id);
    const auto n = d->bytes();
    if (it == q_.end() || it->get() != &m || bytes_ + n > max_bytes_) return d;
    auto list = std::make_shared<captured_message::derived_list>();
    if (kept) *list = *kept;
    list->push_back(d);
    m.derived_.store(std::move(list), std::memory_order_release);
    m.derived_bytes_ += n;
    bytes_ += n;
    return d;
}

bool capture_ring::take_first_place(std::string_view flow, std::size_t quota) {
    std::lock_guard lock(mutex_);
    auto it = places_.find(std::string(flow));
    if (it == places_.end()) {
        if (places_.size() >= max_quota_flows) return false;
        it = places_.emplace(std::string(flow), 0).first;
    }
    if (it->second >= quota) return false;
    ++it->second;
    return true;
}

bool capture_ring::take_in_flight(std::uint64_t n) noexcept {
    auto held = in_flight_.load(std::memory_order_relaxed);
    do {
        if (held + n > max_bytes_) return false;
    } while (!in_flight_.compare_exchange_weak(held, held + n, std::memory_order_relaxed));
    return true;
}

std::size_t capture_ring::count() const {
    std::lock_guard lock(mutex_);
    return q_.size();
}

std::uint64_t capture_ring::bytes() const {
    std::lock_guard lock(mutex_);
    return bytes_;
}

std::uint64_t capture_ring::evicted() const {
    std::lock_guard lock(mutex_);
    return evicted_;
}

}  // namespace sink
