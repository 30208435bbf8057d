// The flow table: registry of names, per-thread slots, merging for readers, resets. See flow_table.hpp.
#include "sink/flow_table.hpp"

#include <algorithm>
#include <thread>

#include "sink/flow_key.hpp"

namespace sink {
namespace {
constexpr std::size_t chunk_size = 256;  // slots are allocated by the owner thread 256 flows at a time

// One more in a per-thread map of rare events by (flow id, what) -> (generation, count); a count of an older
// generation of the flow starts again from zero.
template <class Map, class Key>
void count_rare(Map& m, const Key& key, std::uint64_t gen) {
    auto& e = m[key];
    if (e.first != gen) e = {gen, 0};
    ++e.second;
}
}

struct flow_table::local::slot {
    std::atomic<std::uint64_t> gen{0};  // the flow generation these counts belong to
    owned_counter messages, recipients, bytes, refused;
    std::atomic<std::int64_t> first_seen{0}, last_seen{0};
};

flow_table::flow_table(std::size_t max_flows, std::size_t threads)
    : max_flows_(max_flows), chunk_count_((max_flows + 2 + chunk_size - 1) / chunk_size),
      gens_(std::make_unique<std::atomic<std::uint64_t>[]>(max_flows + 2)) {
    for (std::size_t i = 0; i < max_flows + 2; ++i) gens_[i].store(next_gen_++);
    names_ = {std::string(default_flow), std::string(overflow_flow)};
    ids_.emplace(default_flow, default_id);
    ids_.emplace(overflow_flow, overflow_id);
    for (std::size_t i = 0; i < threads; ++i) locals_.push_back(std::make_unique<local>(*this));
}

flow_table::~flow_table() = default;

std::string_view flow_table::overflow_name() { return overflow_flow; }

flow_table::local::local(flow_table& t)
    : t_(t), chunks_(std::make_unique<std::atomic<slot*>[]>(t.chunk_count_)) {
    for (std::size_t i = 0; i < t.chunk_count_; ++i) chunks_[i].store(nullptr);
}

flow_table::local::~local() = default;

std::uint32_t flow_table::local::resolve(std::string_view name) {
    auto epoch = t_.epoch_.load(std::memory_order_acquire);
    if (epoch != cache_epoch_) {  // names were forgotten (reset of all flows)
        cache_.clear();
        cache_epoch_ = epoch;
    }
    if (auto it = cache_.find(name); it != cache_.end()) return it->second;
    auto id = t_.register_name(name);
    if (id != overflow_id || name == overflow_flow) cache_.emplace(name, id);  // _overflow'ed names are not
    return id;                                                                    // cached: the cache stays bounded
}

// The counting section: between here and leave_counting() the id stays the flow's, because reset_all() waits
// for every thread counting with the epoch it ends (a store then a load on each side, both seq_cst: either this
// thread sees the new epoch and resolves again, or reset_all sees it counting and waits).
std::uint32_t flow_table::local::enter_counting(std::string_view name) {
    for (;;) {
        auto id = resolve(name);  // may take the registry's lock: never while counting_ is set
        counting_.store(cache_epoch_, std::memory_order_seq_cst);
        if (t_.epoch_.load(std::memory_order_seq_cst) == cache_epoch_) return id;
        leave_counting();
    }
}

flow_table::local::slot& flow_table::local::touch(std::uint32_t id, std::int64_t now_ms) {
    auto& chunk_ptr = chunks_[id / chunk_size];
    slot* chunk = chunk_ptr.load(std::memory_order_relaxed);
    if (!chunk) {
        owned_.push_back(std::make_unique<slot[]>(chunk_size));
        chunk = owned_.back().get();
        chunk_ptr.store(chunk, std::memory_order_release);
    }
    slot& s = chunk[id % chunk_size];
    auto gen = t_.generation(id);
    if (s.gen.load(std::memory_order_relaxed) != gen) {  // reset since this thread last counted it
        s.messages.set(0);
        s.recipients.set(0);
        s.bytes.set(0);
        s.refused.set(0);
        s.first_seen.store(now_ms, std::memory_order_relaxed);
        s.gen.store(gen, std::memory_order_release);
    }
    s.last_seen.store(now_ms, std::memory_order_relaxed);
    return s;
}

const flow_table::local::slot* flow_table::local::find(std::uint32_t id) const noexcept {
    const slot* chunk = chunks_[id / chunk_size].load(std::memory_order_acquire);
    return chunk ? &chunk[id % chunk_size] : nullptr;
}

void flow_table::local::count_message(std::string_view name, std::uint64_t recipients, std::uint64_t bytes,
                                      std::int64_t now_ms) {
    auto id = enter_counting(name);
    auto& s = touch(id, now_ms);
    s.messages.add();
    s.recipients.add(recipients);
    s.bytes.add(bytes);
    leave_counting();
    if (id == overflow_id && name != overflow_flow) overflowed_.add();
    // Pairs with the fence in watch(): either the waiter's read sees these counts, or this load sees the waiter.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (t_.watchers_.load(std::memory_order_relaxed) > 0) t_.wake_watchers(id == overflow_id ? overflow_flow : name);
}

void flow_table::local::count_refusal(std::string_view name, unsigned short code, std::int64_t now_ms) {
    auto id = enter_counting(name);
    auto& s = touch(id, now_ms);
    s.refused.add();
    auto gen = s.gen.load(std::memory_order_relaxed);
    {
        std::lock_guard lock(rare_mutex_);
        count_rare(refusals_, std::pair{id, code}, gen);
    }
    leave_counting();
}

void flow_table::local::count_fault(std::string_view name, const std::string& label, std::int64_t now_ms) {
    auto id = enter_counting(name);
    auto gen = touch(id, now_ms).gen.load(std::memory_order_relaxed);
    {
        std::lock_guard lock(rare_mutex_);
        count_rare(faults_, std::pair{id, label}, gen);
    }
    leave_counting();
}

std::uint32_t flow_table::register_name(std::string_view name) {
    std::lock_guard lock(mutex_);
    if (auto it = ids_.find(name); it != ids_.end()) return it->second;
    if (names_.size() - 2 >= max_flows_) {
        if (!warned_full_) {
            warned_full_ = true;
            if (full_warning_) full_warning_(max_flows_);
        }
        return overflow_id;
    }
    auto id = std::uint32_t(names_.size());
    names_.emplace_back(name);
    ids_.emplace(name, id);
    gens_[id].store(next_gen_++, std::memory_order_release);
    return id;
}

flow_view flow_table::view_of(std::uint32_t id) const {
    flow_view v;
    v.name = names_[id];
    auto gen = generation(id);
    for (const auto& l : locals_) {
        const auto* s = l->find(id);
        if (!s || s->gen.load(std::memory_order_acquire) != gen) continue;
        v.seen = true;
        v.messages += s->messages.get();
        v.recipients += s->recipients.get();
        v.bytes += s->bytes.get();
        v.refused += s->refused.get();
        auto first = s->first_seen.load(std::memory_order_relaxed);
        auto last = s->last_seen.load(std::memory_order_relaxed);
        if (v.first_seen_ms == 0 || first < v.first_seen_ms) v.first_seen_ms = first;
        v.last_seen_ms = std::max(v.last_seen_ms, last);
        std::lock_guard lock(l->rare_mutex_);
        for (auto it = l->refusals_.lower_bound({id, 0}); it != l->refusals_.end() && it->first.first == id; ++it)
            if (it->second.first == gen) v.refused_by_code[it->first.second] += it->second.second;
        for (auto it = l->faults_.lower_bound({id, {}}); it != l->faults_.end() && it->first.first == id; ++it)
            if (it->second.first == gen) v.faults[it->first.second] += it->second.second;
    }
    return v;
}

std::vector<flow_view> flow_table::list() const {
    std::vector<flow_view> out;
    std::lock_guard lock(mutex_);
    for (std::uint32_t id = 0; id < names_.size(); ++id) {
        auto v = view_of(id);
        if (v.seen) out.push_back(std::move(v));
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    return out;
}

flow_view flow_table::get(std::string_view name) const {
    std::lock_guard lock(mutex_);
    if (auto it = ids_.find(name); it != ids_.end()) return view_of(it->second);
    flow_view v;
    v.name = name;
    return v;
}

std::uint64_t flow_table::overflow_total() const noexcept {
    std::uint64_t n = 0;
    for (const auto& l : locals_) n += l->overflowed_.get();
    return n;
}

std::size_t flow_table::tracked() const {
    std::lock_guard lock(mutex_);
    return names_.size() - 2;
}

std::uint64_t flow_table::watch(std::string_view flow, wake_fn wake) {
    std::uint64_t token = 0;
    {
        std::lock_guard lock(watch_mutex_);
        token = next_token_++;
        auto it = watches_.find(flow);
        if (it == watches_.end()) it = watches_.emplace(std::string(flow), decltype(watches_)::mapped_type{}).first;
        it->second.emplace_back(token, std::move(wake));
        watchers_.fetch_add(1, std::memory_order_relaxed);
    }
    // Pairs with the fence in count_message(): see watch()'s comment in the header.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    return token;
}

void flow_table::unwatch(std::string_view flow, std::uint64_t token) {
    std::lock_guard lock(watch_mutex_);
    auto it = watches_.find(flow);
    if (it == watches_.end()) return;
    auto n = std::erase_if(it->second, [token](const auto& w) { return w.first == token; });
    if (it->second.empty()) watches_.erase(it);
    watchers_.fetch_sub(n, std::memory_order_relaxed);
}

// Only the waits on this flow are called: a counted message never walks the others.
void flow_table::wake_watchers(std::string_view flow) {
    std::lock_guard lock(watch_mutex_);
    auto it = watches_.find(flow);
    if (it == watches_.end()) return;
    for (const auto& w : it->second) w.second();
}

void flow_table::reset_all() {
    std::lock_guard lock(mutex_);  // no thread can register a name until the ids are free again
    const auto ended = epoch_.fetch_add(1, std::memory_order_seq_cst);
    // Wait out every thread counting with the ids of the epoch that ends (a few instructions each).
    for (const auto& l : locals_)
        while (l->counting_.load(std::memory_order_seq_cst) == ended) std::this_thread::yield();
    for (std::size_t i = 0; i < max_flows_ + 2; ++i) gens_[i].store(next_gen_++, std::memory_order_release);
    ids_.clear();
    names_.resize(2);
    ids_.emplace(default_flow, default_id);
    ids_.emplace(overflow_flow, overflow_id);
    warned_full_ = false;
}

bool flow_table::reset(std::string_view name) {
    std::lock_guard lock(mutex_);
    auto it = ids_.find(name);
    if (it == ids_.end()) return false;
    gens_[it->second].store(next_gen_++, std::memory_order_release);
    return true;
}

}  // namespace sink
