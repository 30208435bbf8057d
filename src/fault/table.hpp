// The table of fault rules every connection reads: an immutable, ordered snapshot that is replaced as a whole
// when rules are added or removed (at start from --fault, at runtime from the API), and a version number that a
// connection compares at each stage, so that a change applies to the next event on every connection. With no
// rule the check is one atomic load. Each rule's counters (events seen, times fired) are atomics shared by the
// snapshots that hold it. Also the tally of injected faults by stage, action and code, for the metric.
#pragma once
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>
#include <vector>

#include "fault/rule.hpp"

namespace fault {

// One rule in the table, with its counters.
struct entry {
    entry(std::uint64_t i, rule rl) : id(i), r(std::move(rl)) {}
    const std::uint64_t id;
    const rule r;
    std::atomic<std::uint64_t> seen{0};   // events that matched its stage and filters
    std::atomic<std::uint64_t> fired{0};  // times it fired
    std::atomic<bool> spent{false};       // fired `times` times: no longer fires, leaving the table
};

using snapshot = std::vector<std::shared_ptr<entry>>;

// Faults injected so far with one stage, action and code (0 for disconnect, silence and a bare delay).
struct injection {
    smtp::stage stage;
    action act;
    unsigned short code;
    std::uint64_t count;
};

class table {
public:
    explicit table(std::uint64_t seed) : seed_(seed) {}
    // --fault-seed: the seed of every connection's generator (with the session id).
    std::uint64_t seed() const noexcept { return seed_; }

    // Appends rules, in order, all at once; returns their ids.
    std::vector<std::uint64_t> add(std::vector<rule> rules);
    // Removes one rule (false: no such id) or all of them (how many there were).
    bool remove(std::uint64_t id);
    std::size_t clear();
    // The rules now, in order (never null).
    std::shared_ptr<const snapshot> current() const;
    // Bumped by every change: a connection whose copy is older takes current() again.
    std::uint64_t version() const noexcept { return version_.load(std::memory_order_acquire); }
    // How many rules there are: the sessions' stage gate (observer::stage_gate), 0 when none could answer.
    const std::atomic<std::uint64_t>& size() const noexcept { return size_; }

    // Counts one injected fault.
    void count(smtp::stage s, action a, unsigned short code);
    std::vector<injection> injections() const;

private:
    void publish(std::shared_ptr<const snapshot> s);  // with mutex_ held

    const std::uint64_t seed_;
    mutable std::mutex mutex_;
    std::shared_ptr<const snapshot> rules_ = std::make_shared<const snapshot>();
    std::atomic<std::uint64_t> version_{0};
    std::atomic<std::uint64_t> size_{0};
    std::uint64_t next_id_ = 1;
    mutable std::mutex tally_mutex_;  // taken only when a fault fires
    std::map<std::tuple<smtp::stage, action, unsigned short>, std::uint64_t> tally_;
};

}  // namespace fault
