// Merging and printing the report. See report.hpp.
#include "report.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cmath>
#include <cstdio>

namespace loadgen {
namespace {

std::string fixed(double v, int digits) {
    char b[64];
    std::snprintf(b, sizeof b, "%.*f", digits, v);
    return b;
}

std::string ms(std::uint64_t ns) { return fixed(static_cast<double>(ns) / 1e6, 3); }

constexpr double percentiles[] = {50, 90, 99, 99.9};
constexpr const char* percentile_names[] = {"p50", "p90", "p99", "p99.9"};

std::string latency_row(const char* name, const histogram& h) {
    char b[256];
    std::snprintf(b, sizeof b, "  %-12s %10llu %9s %9s %9s %9s %9s %9s\n", name, static_cast<unsigned long long>(h.count()),
                  ms(h.min()).c_str(), ms(h.percentile(50)).c_str(), ms(h.percentile(90)).c_str(),
                  ms(h.percentile(99)).c_str(), ms(h.percentile(99.9)).c_str(), ms(h.max()).c_str());
    return b;
}

// `v` rounded to `digits` decimals, the precision the text report shows.
double rounded(double v, int digits) {
    double scale = std::pow(10.0, digits);
    return std::round(v * scale) / scale;
}

double ms_value(std::uint64_t ns) { return rounded(static_cast<double>(ns) / 1e6, 3); }

boost::json::object latency_json(const histogram& h) {
    boost::json::object o;
    o["count"] = h.count();
    o["min"] = ms_value(h.min());
    for (std::size_t i = 0; i < 4; ++i) o[percentile_names[i]] = ms_value(h.percentile(percentiles[i]));
    o["max"] = ms_value(h.max());
    return o;
}

std::string mode(const plan& p) {
    std::string m = p.bdat ? "bdat" : p.pipelining ? "pipelining" : "lockstep";
    if (p.tls) m += "+tls";
    if (p.starttls) m += "+starttls";
    if (!p.auth_user.empty()) m += "+auth";
    return m;
}

}  // namespace

double report::error_rate() const noexcept {
    std::uint64_t base = sent > 0 ? sent : 1;
    return static_cast<double>(errors()) / static_cast<double>(base);
}

report merge(const plan& p, const std::vector<const thread_stats*>& threads, double elapsed_s) {
    report r;
    r.elapsed_s = elapsed_s;
    std::vector<std::uint64_t> flows(p.flows.size(), 0);
    std::array<std::uint64_t, reply_codes> codes{};
    for (const auto* t : threads) {
        r.sent += t->sent.get();
        r.accepted += t->accepted.get();
        r.refused += t->refused.get();
        r.lost += t->lost.get();
        r.retried += t->retried.get();
        r.retried_lost += t->retried_lost.get();
        r.connections += t->connections.get();
        r.tls_handshakes += t->tls_handshakes.get();
        r.tls_resumed += t->tls_resumed.get();
        r.connect_errors += t->connect_errors.get();
        r.tls_errors += t->tls_errors.get();
        r.conn_errors += t->conn_errors.get();
        r.protocol_errors += t->protocol_errors.get();
        for (std::size_t c = 0; c < reply_codes; ++c) codes[c] += t->refused_by_code[c];
        for (std::size_t f = 0; f < flows.size(); ++f) flows[f] += t->accepted_by_flow[f];
        r.txn.merge(t->txn);
        r.connect.merge(t->connect);
        r.tls.merge(t->tls);
        if (r.first_error.empty()) r.first_error = t->first_error;
    }
    for (std::size_t c = 0; c < reply_codes; ++c)
        if (codes[c]) r.refused_by_code[static_cast<unsigned>(c)] = codes[c];
    for (std::size_t f = 0; f < flows.size(); ++f) r.accepted_by_flow[p.flows[f].empty() ? "_default" : p.flows[f]] += flows[f];
    return r;
}

std::string render_text(const plan& p, const report& r) {
    std::string targets;
    for (const auto& t : p.targets) targets += (targets.empty() ? "" : ",") + t.text;
    std::string s = "smtp-blackhole-loadgen: " + targets + " mode=" + mode(p) + " threads=" + std::to_string(p.threads) +
                    " connections=" + std::to_string(p.connections) + " size=" + std::to_string(p.size) +
                    " recipients=" + std::to_string(p.recipients) + "\n";
    s += "elapsed_s        " + fixed(r.elapsed_s, 3) + "\n";
    s += "cpu_s            " + fixed(r.cpu_s, 3) + "\n";
    s += "sent             " + std::to_string(r.sent) + "\n";
    s += "accepted         " + std::to_string(r.accepted) + "\n";
    s += "refused          " + std::to_string(r.refused);
    for (const auto& [code, n] : r.refused_by_code) s += " " + std::to_string(code) + "=" + std::to_string(n);
    s += "\nlost             " + std::to_string(r.lost) + "\n";
    s += "retried          " + std::to_string(r.retried) + " (after a loss " + std::to_string(r.retried_lost) +
         ", after a 4xx " + std::to_string(r.retried - r.retried_lost) + ")\n";
    s += "connections      " + std::to_string(r.connections) + " (tls handshakes " + std::to_string(r.tls_handshakes) +
         ", resumed " + std::to_string(r.tls_resumed) + ")\n";
    s += "errors           connect=" + std::to_string(r.connect_errors) + " tls=" + std::to_string(r.tls_errors) +
         " connection=" + std::to_string(r.conn_errors) + " protocol=" + std::to_string(r.protocol_errors) + "\n";
    if (!r.first_error.empty()) s += "first_error      " + r.first_error + "\n";
    s += "messages_per_s   " + fixed(r.elapsed_s > 0 ? static_cast<double>(r.accepted) / r.elapsed_s : 0, 1) + "\n";
    s += "latency_ms            count       min       p50       p90       p99     p99.9       max\n";
    s += latency_row("transaction", r.txn);
    s += latency_row("connect", r.connect);
    s += latency_row("tls", r.tls);
    s += "flows           ";
    for (const auto& [name, n] : r.accepted_by_flow) s += " " + name + "=" + std::to_string(n);
    s += "\n";
    if (r.verified) s += r.differences.empty() ? "verify           ok\n" : "verify           FAILED\n";
    for (const auto& d : r.differences) s += "verify: " + d + "\n";
    return s;
}

std::string render_json(const plan& p, const report& r) {
    namespace json = boost::json;
    json::object by_code, flows;
    for (const auto& [code, n] : r.refused_by_code) by_code[std::to_string(code)] = n;
    for (const auto& [name, n] : r.accepted_by_flow) flows[name] = n;
    json::object o;
    o["mode"] = mode(p);
    o["threads"] = p.threads;
    o["connections_configured"] = p.connections;
    o["size"] = p.size;
    o["recipients"] = p.recipients;
    o["elapsed_s"] = rounded(r.elapsed_s, 3);
    o["cpu_s"] = rounded(r.cpu_s, 3);
    o["sent"] = r.sent;
    o["accepted"] = r.accepted;
    o["refused"] = r.refused;
    o["refused_by_code"] = std::move(by_code);
    o["lost"] = r.lost;
    o["retried"] = {{"total", r.retried}, {"after_loss", r.retried_lost}, {"after_4xx", r.retried - r.retried_lost}};
    o["connections"] = r.connections;
    o["tls_handshakes"] = r.tls_handshakes;
    o["tls_resumed"] = r.tls_resumed;
    o["errors"] = {{"connect", r.connect_errors}, {"tls", r.tls_errors}, {"connection", r.conn_errors},
                   {"protocol", r.protocol_errors}};
    o["first_error"] = r.first_error.empty() ? json::value(nullptr) : json::value(r.first_error);
    o["messages_per_s"] = rounded(r.elapsed_s > 0 ? static_cast<double>(r.accepted) / r.elapsed_s : 0, 1);
    o["latency_ms"] = {{"transaction", latency_json(r.txn)}, {"connect", latency_json(r.connect)},
                       {"tls", latency_json(r.tls)}};
    o["flows"] = std::move(flows);
    if (r.verified) {
        json::array differences(r.differences.begin(), r.differences.end());
        o["verify"] = {{"ok", r.differences.empty()}, {"differences", std::move(differences)}};
    }
    return json::serialize(o) + "\n";
}

}  // namespace loadgen
