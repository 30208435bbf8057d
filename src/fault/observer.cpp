// Fault verdicts for one session. See observer.hpp.
#include "fault/observer.hpp"

namespace fault {

connection_observer::connection_observer(sink::hub& h, table& t, std::size_t thread, std::string&& client,
                                         std::uint64_t session_id)
    : connection_sink(h, thread, std::move(client)), table_(t), session_id_(session_id) {
    set_stage_gate(t.size());
}

smtp::verdict connection_observer::on_stage(const smtp::stage_event& e) noexcept {
    if (!state_) state_ = std::make_unique<state>(connection_seed(table_.seed(), session_id_));
    auto& st = *state_;
    if (auto v = table_.version(); v != st.version || !st.rules) {  // rules were added or removed since it looked
        st.rules = table_.current();
        st.version = v;
    }
    st.flow_named = false;
    for (const auto& en : *st.rules) {
        const rule& r = en->r;
        if (r.stage != e.stage || en->spent.load(std::memory_order_relaxed) || !matches(r, e) || !fires(*en))
            continue;
        count(r, e);
        if (en->spent.load(std::memory_order_relaxed)) table_.remove(en->id);  // its last time: it leaves the list
        smtp::verdict v;
        v.code = r.code;
        v.text = r.text;
        switch (r.act) {
        case action::reply: v.what = smtp::verdict::kind::reply; break;
        case action::delay:
            v.what = smtp::verdict::kind::delay;
            v.delay_ms = r.delay_ms;
            break;
        case action::disconnect:
            v.what = smtp::verdict::kind::disconnect;
            v.reset = r.reset;
            break;
        case action::silence: v.what = smtp::verdict::kind::silence; break;
        }
        return v;
    }
    return {};
}

// The rule's filters: flow, recipient (at rcpt the one asked about; later any of the envelope's) and sender.
bool connection_observer::matches(const rule& r, const smtp::stage_event& e) {
    if (!r.mail_from.empty() && !glob_match(r.mail_from, e.env.mail_from())) return false;
    if (!r.rcpt.empty()) {
        const auto n = e.env.recipient_count();
        bool any = false;
        for (std::size_t i = e.stage == smtp::stage::rcpt && n ? n - 1 : 0; i < n && !any; ++i)
            any = glob_match(r.rcpt, e.env.recipient_address(i));
        if (!any) return false;
    }
    return r.flow.empty() || flow(e) == r.flow;
}

// The triggers, combined with AND: first N events, every Nth, at random; then at most `times` firings. The
// chance is drawn at every matching event, whatever the counters say, so that the draws on a connection depend
// only on its own traffic.
bool connection_observer::fires(entry& en) {
    const rule& r = en.r;
    const auto n = en.seen.fetch_add(1, std::memory_order_relaxed) + 1;
    bool go = (r.first == 0 || n <= r.first) && (r.every == 0 || n % r.every == 0);
    if (r.has_probability && !(state_->generator.uniform() < r.probability)) go = false;
    if (!go) return false;
    if (r.times == 0) {
        en.fired.fetch_add(1, std::memory_order_relaxed);
        return true;
    }
    auto f = en.fired.load(std::memory_order_relaxed);
    do {
        if (f >= r.times) return false;  // another connection fired it for the last time
    } while (!en.fired.compare_exchange_weak(f, f + 1, std::memory_order_relaxed));
    if (f + 1 == r.times) en.spent.store(true, std::memory_order_relaxed);
    return true;
}

void connection_observer::count(const rule& r, const smtp::stage_event& e) {
    const bool replies = r.act == action::reply || (r.act == action::delay && r.code != 0);
    std::string label(smtp::stage_name(e.stage));
    label += ':';
    label += replies ? std::to_string(r.code) : std::string(action_name(r.act));
    flows().count_fault(flow(e), label, sink::now_ms());
    table_.count(e.stage, r.act, r.code);
}

const std::string& connection_observer::flow(const smtp::stage_event& e) {
    auto& st = *state_;
    if (!st.flow_named) {
        owner().key.name({&e.env, e.helo, e.header, e.auth_user}, st.flow, st.scratch);
        st.flow_named = true;
    }
    return st.flow;
}

}  // namespace fault
