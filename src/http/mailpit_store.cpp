// The capture ring as Mailpit's mailbox. See mailpit_store.hpp.
#include "http/mailpit_store.hpp"

#include <limits>

namespace http::mailpit {
namespace {
// Read marks kept for messages the ring may have dropped meanwhile (evicted, or deleted through the main API)
// before they are looked for and forgotten.
constexpr std::size_t slack = 64;
}  // namespace

std::vector<store::message_ptr> store::messages() const {
    return ring_.list("", std::numeric_limits<std::size_t>::max());
}

store::summary_ptr store::summary_of(const sink::captured_message& m, const inspect::message_view* parsed) const {
    return sink::derived_of<summary>(ring_, m, [&] {
        return std::make_shared<const summary>(parsed ? summarize(m, *parsed)
                                                      : summarize(m, inspect::parse(m.raw.view())));
    });
}

bool store::is_read(std::uint64_t id) const {
    std::lock_guard lock(mutex_);
    return read_.contains(id);
}

void store::mark_read(std::uint64_t id) {
    std::lock_guard lock(mutex_);
    if (read_.insert(id).second && read_.size() > 2 * ring_.count() + slack) prune_locked();
}

std::size_t store::unread(std::span<const message_ptr> list) const {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (const auto& m : list) n += read_.contains(m->id) ? 0 : 1;
    return n;
}

std::size_t store::remove(std::span<const std::uint64_t> ids) {
    auto n = ring_.remove(ids);
    deleted_.fetch_add(n, std::memory_order_relaxed);
    std::lock_guard lock(mutex_);
    for (auto id : ids) read_.erase(id);
    return n;
}

std::size_t store::clear() {
    auto n = ring_.clear();
    deleted_.fetch_add(n, std::memory_order_relaxed);
    std::lock_guard lock(mutex_);
    read_.clear();
    return n;
}

// Forgets the read marks of messages that are no longer in the ring.
void store::prune_locked() {
    std::erase_if(read_, [&](std::uint64_t id) { return !ring_.get(id); });
}

}  // namespace http::mailpit
