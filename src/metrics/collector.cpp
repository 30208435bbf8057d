// Building the metric families at scrape time. See collector.hpp.
#include "metrics/collector.hpp"

#include <prometheus/gauge.h>
#include <prometheus/text_serializer.h>

#include <array>

#include "metrics/names.hpp"

namespace metrics {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

MetricFamily family(std::string_view name, std::string help, MetricType type) {
    MetricFamily f;
    f.name = std::string(name);
    f.help = std::move(help);
    f.type = type;
    return f;
}

void add(MetricFamily& f, double v, std::vector<ClientMetric::Label> labels = {}) {
    ClientMetric m;
    m.label = std::move(labels);
    if (f.type == MetricType::Counter)
        m.counter.value = v;
    else
        m.gauge.value = v;
    f.metric.push_back(std::move(m));
}

MetricFamily single(std::string_view name, std::string help, MetricType type, double v) {
    auto f = family(name, std::move(help), type);
    add(f, v);
    return f;
}

// A counter family with one sample per reason, every reason always there (0 until counted).
template <std::size_t N>
MetricFamily by_reason(std::string_view name, std::string help, const std::array<std::string_view, N>& reasons,
                       const std::array<std::uint64_t, N>& counts) {
    auto f = family(name, std::move(help), MetricType::Counter);
    for (std::size_t i = 0; i < N; ++i) add(f, double(counts[i]), {{"reason", std::string(reasons[i])}});
    return f;
}

// The per-flow families: one sample per flow (and per reply code for refusals).
void add_flow_families(const sink::flow_table& flows, std::vector<MetricFamily>& out) {
    using T = MetricType;
    auto msgs = family(names::flow_messages, "Messages accepted, by flow (since the flow's last reset)", T::Counter);
    auto rcpts = family(names::flow_recipients, "Recipients of accepted messages, by flow", T::Counter);
    auto bytes = family(names::flow_bytes, "Octets of accepted messages, by flow", T::Counter);
    auto refused = family(names::flow_refused, "Refusals inside transactions, by flow and reply code", T::Counter);
    for (const auto& f : flows.list()) {
        add(msgs, double(f.messages), {{"flow", f.name}});
        add(rcpts, double(f.recipients), {{"flow", f.name}});
        add(bytes, double(f.bytes), {{"flow", f.name}});
        for (const auto& [code, n] : f.refused_by_code)
            add(refused, double(n), {{"code", std::to_string(code)}, {"flow", f.name}});
    }
    out.push_back(std::move(msgs));
    out.push_back(std::move(rcpts));
    out.push_back(std::move(bytes));
    out.push_back(std::move(refused));
}

// TLS: handshakes by result, failed ones by reason, resumptions, plaintext dropped at STARTTLS.
void add_tls_families(const sink::totals& t, std::vector<MetricFamily>& out) {
    using T = MetricType;
    auto tls = family(names::tls_handshakes, "TLS handshakes, by result", T::Counter);
    add(tls, double(t.tls_ok), {{"result", "ok"}});
    add(tls, double(t.tls_failed), {{"result", "failed"}});
    out.push_back(std::move(tls));
    out.push_back(by_reason(names::tls_failed, "Failed TLS handshakes, by reason (they sum to result=\"failed\")",
                            sink::tls_failures, t.tls_failed_by));
    out.push_back(single(names::tls_resumed, "TLS handshakes that resumed a session (counted as ok too)", T::Counter,
                         double(t.tls_resumed)));
    out.push_back(single(names::starttls_plaintext_dropped,
                         "Plaintext octets sent after STARTTLS, dropped unread (RFC 3207 4.2)", T::Counter,
                         double(t.starttls_dropped)));
}

// Faults injected by rules, by stage, action and code ("" when no code was sent).
MetricFamily faults_family(const fault::table& faults) {
    auto f = family(names::faults_injected, "Faults injected by fault rules, by stage, action and reply code",
                    MetricType::Counter);
    for (const auto& i : faults.injections())
        add(f, double(i.count), {{"action", std::string(fault::action_name(i.act))},
                                 {"code", i.code ? std::to_string(i.code) : std::string()},
                                 {"stage", std::string(smtp::stage_name(i.stage))}});
    return f;
}

}  // namespace

sink_collector::sink_collector(const sink::hub& h, const fault::table& faults, std::function<std::uint64_t()> active)
    : h_(h), faults_(faults), active_(std::move(active)) {}

std::vector<MetricFamily> sink_collector::Collect() const {
    using T = MetricType;
    std::vector<MetricFamily> out;
    auto t = h_.counters.sum();
    add_flow_families(h_.flows, out);
    out.push_back(single(names::connections, "Connections accepted", T::Counter, double(t.connections)));
    out.push_back(single(names::connections_active, "Connections open now", T::Gauge, double(active_ ? active_() : 0)));
    out.push_back(single(names::connections_refused, "Connections closed at once with 421 4.3.2 (--max-connections)",
                         T::Counter, double(t.connections_refused)));
    out.push_back(single(names::transactions, "Messages accepted (250 at the end of data)", T::Counter,
                         double(t.transactions)));
    auto replies = family(names::replies, "Replies sent, by code", T::Counter);
    for (std::size_t code = 0; code < t.replies.size(); ++code)
        if (t.replies[code]) add(replies, double(t.replies[code]), {{"code", std::to_string(code)}});
    out.push_back(std::move(replies));
    add_tls_families(t, out);
    out.push_back(by_reason(names::proxy_rejected,
                            "Connections closed before the greeting for want of a PROXY header "
                            "(--proxy-protocol-from), by reason", sink::proxy_rejections, t.proxy_rejected));
    out.push_back(single(names::capture_messages, "Messages in the capture ring", T::Gauge, double(h_.ring.count())));
    out.push_back(single(names::capture_bytes, "Octets in the capture ring", T::Gauge, double(h_.ring.bytes())));
    out.push_back(single(names::capture_evicted, "Messages evicted from the capture ring", T::Counter,
                         double(h_.ring.evicted())));
    out.push_back(single(names::capture_in_flight_bytes, "Octets held by sampled messages still being received",
                         T::Gauge, double(h_.ring.in_flight())));
    out.push_back(single(names::capture_cut, "Captures cut short because the in-flight budget was spent",
                         T::Counter, double(h_.ring.cut())));
    out.push_back(single(names::flows_tracked, "Flow names tracked", T::Gauge, double(h_.flows.tracked())));
    out.push_back(single(names::flows_overflow, "Messages counted under _overflow because the flow table was full",
                         T::Counter, double(h_.flows.overflow_total())));
    out.push_back(single(names::smuggling_suspects, "Accepted messages with a bare-LF or bare-CR dot line",
                         T::Counter, double(t.smuggling_suspects)));
    out.push_back(faults_family(faults_));
    return out;
}

exposition::exposition(const sink::hub& h, const fault::table& faults, std::function<std::uint64_t()> active,
                       std::string version)
    : collector_(h, faults, std::move(active)) {
    prometheus::BuildGauge()
        .Name(std::string(names::build_info))
        .Help("Build information")
        .Register(registry_)
        .Add({{"version", std::move(version)}})
        .Set(1);
}

std::string exposition::text() const {
    auto families = registry_.Collect();
    auto mine = collector_.Collect();
    families.insert(families.end(), std::make_move_iterator(mine.begin()), std::make_move_iterator(mine.end()));
    return prometheus::TextSerializer().Serialize(families);
}

}  // namespace metrics
