// The bounded table of flows and their exact counters. Workers count into their own per-thread slots (no lock,
// no shared map on the message path: a flow name is looked up in the thread's own cache, and only a name the
// thread has never seen takes the registry's lock). Readers (HTTP, metrics) merge the threads' slots on demand.
// Resets do not touch the workers' slots: every flow has a generation, and a slot of an older generation counts
// as zero (its owner re-initialises it on its next use). A message's flow is resolved from its name when it is
// counted, inside a short "counting" section that a reset of all flows waits out, so a reset can never hand a
// message in flight the id of another flow.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sink/counters.hpp"

namespace sink {

// One flow as a reader sees it.
struct flow_view {
    std::string name;
    bool seen = false;
    std::uint64_t messages = 0, recipients = 0, bytes = 0, refused = 0;
    std::map<unsigned short, std::uint64_t> refused_by_code;
    std::map<std::string, std::uint64_t> faults;  // injected faults by "stage:code" or "stage:action"
    std::int64_t first_seen_ms = 0, last_seen_ms = 0;  // Unix milliseconds; 0 when not seen
};

class flow_table {
public:
    static constexpr std::uint32_t default_id = 0, overflow_id = 1;

    flow_table(std::size_t max_flows, std::size_t threads);
    ~flow_table();

    // What one worker thread uses; not thread-safe, owned by that thread.
    class local {
    public:
        explicit local(flow_table& t);
        ~local();
        // Counts one accepted message under flow `name` (already sanitised; _overflow once the table is full),
        // then wakes the waits on that flow.
        void count_message(std::string_view name, std::uint64_t recipients, std::uint64_t bytes, std::int64_t now_ms);
        void count_refusal(std::string_view name, unsigned short code, std::int64_t now_ms);
        // Counts one fault injected into flow `name`, under `label` ("rcpt:451", "message:disconnect").
        void count_fault(std::string_view name, const std::string& label, std::int64_t now_ms);

    private:
        friend class flow_table;
        struct slot;
        struct hash {
            using is_transparent = void;
            std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
        };
        std::uint32_t resolve(std::string_view name);  // the id of `name` in the mapping of epoch cache_epoch_
        std::uint32_t enter_counting(std::string_view name);  // resolves and marks this thread as counting
        void leave_counting() noexcept { counting_.store(0, std::memory_order_release); }
        slot& touch(std::uint32_t id, std::int64_t now_ms);
        const slot* find(std::uint32_t id) const noexcept;

        flow_table& t_;
        std::unordered_map<std::string, std::uint32_t, hash, std::equal_to<>> cache_;
        std::uint64_t cache_epoch_ = 0;
        std::atomic<std::uint64_t> counting_{0};  // the epoch whose ids this thread is counting with, 0 if none
        std::unique_ptr<std::atomic<slot*>[]> chunks_;
        std::vector<std::unique_ptr<slot[]>> owned_;
        mutable std::mutex rare_mutex_;  // refusals and faults are rare: a per-thread lock, never contended by workers
        std::map<std::pair<std::uint32_t, unsigned short>, std::pair<std::uint64_t, std::uint64_t>> refusals_;  // -> gen, n
        std::map<std::pair<std::uint32_t, std::string>, std::pair<std::uint64_t, std::uint64_t>> faults_;  // -> gen, n
        owned_counter overflowed_;  // messages put under _overflow, never reset
    };

    local& for_thread(std::size_t i) noexcept { return *locals_[i]; }

    // Flows seen since their last reset, sorted by name.
    std::vector<flow_view> list() const;
    // One flow by name (seen == false and zeros if it was not seen since its last reset).
    flow_view get(std::string_view name) const;
    // Messages counted under _overflow since the last reset of all flows.
    std::uint64_t overflow_messages() const { return get(overflow_name()).messages; }
    // Messages ever put under _overflow because the table was full (never reset).
    std::uint64_t overflow_total() const noexcept;
    // Flow names registered, _default and _overflow not included.
    std::size_t tracked() const;
    std::size_t max_flows() const noexcept { return max_flows_; }

    // Zeroes every flow and forgets their names (the bound counts again from zero).
    void reset_all();
    // Zeroes one flow; false if no such flow is registered.
    bool reset(std::string_view name);

    // Long-poll waits. `wake` is called from a worker thread (under a lock: it must only hand work over) after
    // each message counted under `flow`, until unwatch(flow, token). Once watch() has returned, a message counted
    // after the caller's next read of the counts is certain to call `wake`: the caller reads, then sleeps.
    using wake_fn = std::function<void()>;
    std::uint64_t watch(std::string_view flow, wake_fn wake);
    void unwatch(std::string_view flow, std::uint64_t token);
    // Called once (per reset of all flows) when the table is full and a new name goes under _overflow.
    void set_full_warning(std::function<void(std::size_t max_flows)> f) { full_warning_ = std::move(f); }

private:
    static std::string_view overflow_name();
    std::uint32_t register_name(std::string_view name);
    flow_view view_of(std::uint32_t id) const;  // with mutex_ held
    std::uint64_t generation(std::uint32_t id) const noexcept { return gens_[id].load(std::memory_order_acquire); }

    const std::size_t max_flows_;
    const std::size_t chunk_count_;
    mutable std::mutex mutex_;  // names_ and ids_
    std::unordered_map<std::string, std::uint32_t, local::hash, std::equal_to<>> ids_;
    std::vector<std::string> names_;
    std::unique_ptr<std::atomic<std::uint64_t>[]> gens_;  // per id
    std::uint64_t next_gen_ = 1;
    std::atomic<std::uint64_t> epoch_{1};  // bumped when names are forgotten: thread caches drop theirs
    bool warned_full_ = false;
    std::vector<std::unique_ptr<local>> locals_;
    void wake_watchers(std::string_view flow);

    std::atomic<std::size_t> watchers_{0};  // how many waits are registered: the counting threads' fast check
    std::mutex watch_mutex_;
    std::unordered_map<std::string, std::vector<std::pair<std::uint64_t, wake_fn>>, local::hash, std::equal_to<>>
        watches_;  // by flow name
    std::uint64_t next_token_ = 1;
    std::function<void(std::size_t)> full_warning_;
};

}  // namespace sink
