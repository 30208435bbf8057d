// The hub and the per-connection sink: flow naming, exact counting, sampling into the capture ring.
#include "sink/sink.hpp"

#include <algorithm>

namespace sink {

hub::hub(const options& o, std::size_t threads)
    : opts(o), key(flow_key::parse(o.flow_key)), flows(o.max_flows, threads),
      ring(o.capture_messages, o.capture_bytes), counters(threads), states_(threads) {
    std::random_device rd;
    for (auto& s : states_) s.rng.seed(rd());
}

connection_sink::connection_sink(hub& h, std::size_t thread, std::string&& client)
    : h_(h), c_(h.counters.for_thread(thread)), flows_(h.flows.for_thread(thread)), ts_(h.state(thread)),
      client_(std::move(client)) {}

void connection_sink::name_flow(const smtp::envelope& env, std::string_view header) {
    h_.key.name({&env, env.helo(), header, env.auth_user()}, name_, scratch_);
}

// The sampling decision: at random with --sample-rate, and always for the first --sample-first-per-flow
// messages of each flow (the flow's name is in name_).
bool connection_sink::sample() {
    const auto& o = h_.opts;
    if (o.sample_rate >= 1.0) return true;
    if (o.sample_rate > 0 && std::uniform_real_distribution<double>(0.0, 1.0)(ts_.rng) < o.sample_rate) return true;
    if (o.sample_first_per_flow == 0) return false;
    auto epoch = h_.ring.quota_epoch();
    if (epoch != ts_.quota_epoch) {
        ts_.quota_full.clear();
        ts_.quota_epoch = epoch;
    }
    if (ts_.quota_full.count(name_)) return false;
    if (h_.ring.take_first_place(name_, o.sample_first_per_flow)) return true;
    if (ts_.quota_full.size() < h_.opts.max_flows + 2) ts_.quota_full.insert(name_);
    return false;
}

bool connection_sink::on_header(const smtp::envelope& env, std::string_view header, bool) noexcept {
    name_flow(env, header);  // the id is resolved when the message is counted: a reset may come in between
    drop_capture();
    if (!h_.capturing() || !sample()) return false;
    // The header section is kept whole, whatever --capture-max-message says; the body as far as that allows.
    limit_ = std::max<std::uint64_t>(header.size(), h_.opts.capture_max_message);
    auto hint = env.has_size() ? env.declared_size() : header.size() + first_body_room;
    if (!grow(header.size(), std::min<std::uint64_t>(std::max<std::uint64_t>(hint, header.size()), limit_))) {
        h_.ring.count_cut();  // not even the header fits in what is left of the in-flight budget
        return false;
    }
    raw_.append(header);
    capturing_ = true;
    truncated_ = false;
    return true;
}

void connection_sink::on_body(std::string_view s) noexcept {
    if (!capturing_ || truncated_) return;
    auto take = std::min<std::uint64_t>(s.size(), limit_ - raw_.size());
    // Growing moves what was captured so far (realloc), so a growth makes room for one more piece as large as
    // this one (the reads of a big body come so): a 100 KiB body read 64 KiB at a time is moved once, while it is
    // small, not once per doubling, which had cost more than the capture's own copy.
    if (raw_.size() + take > raw_.capacity() &&
        !grow(raw_.size() + take,
              std::min(limit_, std::max<std::uint64_t>(raw_.size() + 2 * take, 2 * raw_.capacity())))) {
        take = raw_.capacity() - raw_.size();  // the in-flight budget is spent: keep what fits, marked truncated
        h_.ring.count_cut();
    }
    raw_.append(s.substr(0, take));
    if (take < s.size()) truncated_ = true;
}

// Grows the capture buffer to `want` bytes, or failing that to the `need` it cannot do without, taking the
// growth from the ring's in-flight budget first. False when neither fits.
bool connection_sink::grow(std::uint64_t need, std::uint64_t want) noexcept {
    for (auto cap : {want, need}) {
        if (cap <= held_) return true;
        if (!h_.ring.take_in_flight(cap - held_)) continue;
        if (!raw_.reserve(cap)) {
            h_.ring.give_in_flight(cap - held_);
            continue;
        }
        held_ = cap;
        return true;
    }
    return false;
}

// Frees what the capture of the current message holds, and gives it back to the in-flight budget.
void connection_sink::drop_capture() noexcept {
    capturing_ = false;
    if (held_ == 0) return;
    raw_.release();
    h_.ring.give_in_flight(held_);
    held_ = 0;
}

connection_sink::~connection_sink() { drop_capture(); }

void connection_sink::on_transaction_end() noexcept { drop_capture(); }

void connection_sink::on_message(const smtp::message_info& m) noexcept {
    auto now = now_ms();
    c_.transactions.add();
    c_.recipients.add(m.env->recipient_count());
    c_.bytes.add(m.size);
    if (m.smuggling_suspect) c_.smuggling_suspects.add();
    flows_.count_message(name_, m.env->recipient_count(), m.size, now);
    if (!capturing_) return;
    capturing_ = false;
    raw_.shrink_to_fit();
    h_.ring.give_in_flight(held_);  // the ring's own bound takes over
    held_ = 0;
    auto cm = std::make_shared<captured_message>();
    cm->received_ms = now;
    cm->flow = name_;
    cm->mail_from = m.env->mail_from();
    cm->helo = m.env->helo();
    cm->client = client_;
    cm->tls = m.env->tls();
    for (std::size_t i = 0; i < m.env->recipient_count(); ++i) cm->rcpt_to.emplace_back(m.env->recipient_address(i));
    cm->size = m.size;
    cm->truncated = truncated_ || m.size > raw_.size();
    cm->raw = std::move(raw_);
    h_.ring.push(std::move(cm));
}

void connection_sink::on_refusal(const smtp::envelope& env, std::string_view header, unsigned short code) noexcept {
    drop_capture();  // a refused message is not kept, nor its buffer
    name_flow(env, header);
    flows_.count_refusal(name_, code, now_ms());
}

void connection_sink::on_reply(unsigned short code) noexcept {
    if (code < reply_codes) c_.replies[code].add();
}

}  // namespace sink
