// The hub and the per-connection sink: flow naming, exact counting, sampling into the capture ring.
#include "sink/sink.hpp"

#include <chrono>

#include "sink/header.hpp"

namespace sink {

std::int64_t now_ms() noexcept {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

hub::hub(const options& o, std::size_t threads)
    : opts(o), key(flow_key::parse(o.flow_key)), flows(o.max_flows, threads),
      ring(o.capture_messages, o.capture_bytes), counters(threads), states_(threads) {
    std::random_device rd;
    for (auto& s : states_) s.rng.seed(rd());
}

connection_sink::connection_sink(hub& h, std::size_t thread, std::string client)
    : h_(h), c_(h.counters.for_thread(thread)), flows_(h.flows.for_thread(thread)), ts_(h.state(thread)),
      client_(std::move(client)) {}

std::uint32_t connection_sink::flow_id(const smtp::envelope& env, std::string_view header) {
    h_.key.name({&env, env.helo(), header, env.auth_user()}, name_, scratch_);
    return flows_.id(name_);
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
    id_ = flow_id(env, header);
    capturing_ = h_.capturing() && sample();
    if (!capturing_) return false;
    raw_.assign(header);  // the header section is kept whole, whatever --capture-max-message says
    truncated_ = false;
    return true;
}

void connection_sink::on_body(std::string_view s) noexcept {
    if (!capturing_ || truncated_) return;
    auto max = h_.opts.capture_max_message;
    auto room = raw_.size() < max ? max - raw_.size() : 0;
    if (s.size() > room) {
        raw_.append(s.substr(0, room));
        truncated_ = true;
        return;
    }
    raw_.append(s);
}

void connection_sink::on_message(const smtp::message_info& m) noexcept {
    auto now = now_ms();
    c_.transactions.add();
    c_.recipients.add(m.env->recipient_count());
    c_.bytes.add(m.size);
    if (m.smuggling_suspect) c_.smuggling_suspects.add();
    flows_.count_message(id_, m.env->recipient_count(), m.size, now);
    if (!capturing_) return;
    capturing_ = false;
    auto cm = std::make_shared<captured_message>();
    cm->received_ms = now;
    cm->flow = name_;
    cm->mail_from = m.env->mail_from();
    cm->helo = m.env->helo();
    cm->client = client_;
    cm->tls = m.env->tls();
    cm->subject = header_value(m.header_section, "Subject", scratch_);
    for (std::size_t i = 0; i < m.env->recipient_count(); ++i) cm->rcpt_to.emplace_back(m.env->recipient_address(i));
    cm->size = m.size;
    cm->truncated = truncated_ || m.size > raw_.size();
    cm->raw = std::move(raw_);
    raw_ = std::string();
    h_.ring.push(std::move(cm));
}

void connection_sink::on_refusal(const smtp::envelope& env, std::string_view header, unsigned short code) noexcept {
    if (capturing_) {
        capturing_ = false;
        raw_ = std::string();  // a refused message is not kept, nor its buffer
    }
    flows_.count_refusal(flow_id(env, header), code, now_ms());
}

void connection_sink::on_reply(unsigned short code) noexcept {
    if (code < reply_codes) c_.replies[code].add();
}

}  // namespace sink
