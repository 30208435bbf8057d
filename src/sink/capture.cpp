// The capture ring. See capture.hpp.
#include "sink/capture.hpp"

#include <algorithm>

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
        bytes_ -= q_.front()->raw.size();
        q_.pop_front();
        ++evicted_;
    }
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

std::shared_ptr<const captured_message> capture_ring::get(std::uint64_t id) const {
    std::lock_guard lock(mutex_);
    auto it = std::lower_bound(q_.begin(), q_.end(), id, [](const auto& m, std::uint64_t v) { return m->id < v; });
    if (it == q_.end() || (*it)->id != id) return nullptr;
    return *it;
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
