// The fault rule table and the tally of injections. See table.hpp.
#include "fault/table.hpp"

#include <algorithm>

namespace fault {

void table::publish(std::shared_ptr<const snapshot> s) {
    rules_ = std::move(s);
    version_.fetch_add(1, std::memory_order_acq_rel);
    size_.store(rules_->size(), std::memory_order_release);
}

std::vector<std::uint64_t> table::add(std::vector<rule> rules) {
    std::lock_guard lock(mutex_);
    auto next = std::make_shared<snapshot>(*rules_);
    std::vector<std::uint64_t> ids;
    for (auto& r : rules) {
        ids.push_back(next_id_);
        next->push_back(std::make_shared<entry>(next_id_++, std::move(r)));
    }
    publish(std::move(next));
    return ids;
}

bool table::remove(std::uint64_t id) {
    std::lock_guard lock(mutex_);
    auto next = std::make_shared<snapshot>(*rules_);
    if (std::erase_if(*next, [id](const auto& e) { return e->id == id; }) == 0) return false;
    publish(std::move(next));
    return true;
}

std::size_t table::clear() {
    std::lock_guard lock(mutex_);
    auto n = rules_->size();
    publish(std::make_shared<const snapshot>());
    return n;
}

std::shared_ptr<const snapshot> table::current() const {
    std::lock_guard lock(mutex_);
    return rules_;
}

void table::count(smtp::stage s, action a, unsigned short code) {
    std::lock_guard lock(tally_mutex_);
    ++tally_[{s, a, code}];
}

std::vector<injection> table::injections() const {
    std::lock_guard lock(tally_mutex_);
    std::vector<injection> out;
    for (const auto& [k, n] : tally_) out.push_back({std::get<0>(k), std::get<1>(k), std::get<2>(k), n});
    return out;
}

}  // namespace fault
