// smtp-blackhole-loadgen: drive SMTP load at one or more sinks, report counts and latencies, and optionally
// verify the sinks' per-flow counts. Exit codes: 0 ok; 1 verify mismatch or too many errors; 2 bad usage.
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <csignal>
#include <sys/resource.h>
#include <cstdio>
#include <thread>

#include "cli/process.hpp"
#include "options.hpp"
#include "report.hpp"
#include "smtp/base64.hpp"
#include "verify.hpp"
#include "worker.hpp"

namespace {

using namespace loadgen;

constexpr const char* program = "smtp-blackhole-loadgen";

int usage(const std::string& why) { return cli::usage(program, why); }

// Resolves every --target once, before the run; throws usage_error for a name that does not resolve.
std::vector<tcp::endpoint> resolve(const plan& p) {
    boost::asio::io_context io;
    tcp::resolver resolver(io);
    std::vector<tcp::endpoint> out;
    for (const auto& t : p.targets) {
        boost::system::error_code ec;
        auto r = resolver.resolve(t.host, t.port, ec);
        if (ec || r.empty()) throw usage_error("cannot resolve --target '" + t.text + "'");
        out.push_back(r.begin()->endpoint());
    }
    return out;
}

void prepare(run_context& rc) {
    const plan& p = rc.p;
    rc.txns = build_transactions(p);
    rc.endpoints = resolve(p);
    rc.ehlo_line = "EHLO " + p.helo + "\r\n";
    if (!p.auth_user.empty()) {
        std::string b64;
        smtp::base64::encode(std::string(1, '\0') + p.auth_user + std::string(1, '\0') + p.auth_pass, b64);
        rc.auth_line = "AUTH PLAIN " + b64 + "\r\n";  // RFC 4616 with the RFC 4954 initial response
    }
    if (p.tls || p.starttls) {
        namespace ssl = boost::asio::ssl;
        rc.tls = std::make_unique<ssl::context>(ssl::context::tls_client);
        rc.tls->set_verify_mode(ssl::verify_none);  // a sink's certificate is usually self-signed
        SSL_CTX* ctx = rc.tls->native_handle();
        if (!p.tls_version.empty()) {
            const int v = p.tls_version == "1.2" ? TLS1_2_VERSION : TLS1_3_VERSION;
            SSL_CTX_set_min_proto_version(ctx, v);
            SSL_CTX_set_max_proto_version(ctx, v);
        }
        if (p.tls_resume != plan::resume::off) {
            // Sessions are kept by each connection slot (connection::keep_session), not in OpenSSL's cache.
            SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
            SSL_CTX_sess_set_new_cb(ctx, &connection::keep_session);
        }
        if (p.tls_resume != plan::resume::ticket) SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);  // session ids
    }
}

// The progress line, once a second until the workers are done.
void progress(const run_context& rc, const std::vector<std::unique_ptr<worker>>& ws, const std::atomic<unsigned>& done) {
    auto last = clock::now();
    std::uint64_t last_accepted = 0;
    auto next = last + std::chrono::seconds(1);
    while (done.load() < ws.size()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        auto now = clock::now();
        if (now < next || rc.p.quiet) continue;
        std::uint64_t accepted = 0, in_flight = 0, errors = 0, sent = 0;
        for (const auto& w : ws) {
            const auto& s = w->stats();
            accepted += s.accepted.get();
            in_flight += s.in_flight.get();
            errors += s.errors();
            sent += s.sent.get();
        }
        double dt = std::chrono::duration<double>(now - last).count();
        std::fprintf(stderr, "progress elapsed=%.1fs msgs_per_s=%.0f in_flight=%llu sent=%llu accepted=%llu errors=%llu\n",
                     std::chrono::duration<double>(now - rc.start).count(),
                     dt > 0 ? static_cast<double>(accepted - last_accepted) / dt : 0.0,
                     static_cast<unsigned long long>(in_flight), static_cast<unsigned long long>(sent),
                     static_cast<unsigned long long>(accepted), static_cast<unsigned long long>(errors));
        last = now;
        last_accepted = accepted;
        next += std::chrono::seconds(1);
    }
}

int run(const plan& p) {
    run_context rc{p, {}, {}, {}, {}, {}, {}};
    prepare(rc);
    for (const auto& url : p.verify) {
        if (!p.reset) break;
        try {
            reset_flows(url);
        } catch (const std::exception& e) {
            return usage(e.what());
        }
    }
    std::vector<std::unique_ptr<worker>> ws;
    std::uint64_t quota_left = p.messages;
    for (unsigned i = 0, first = 0; i < p.threads; ++i) {
        unsigned conns = p.connections / p.threads + (i < p.connections % p.threads ? 1 : 0);
        std::uint64_t quota = UINT64_MAX;
        if (p.messages) {
            quota = p.messages / p.threads + (i < p.messages % p.threads ? 1 : 0);
            quota_left -= quota;
        }
        ws.push_back(std::make_unique<worker>(rc, i, first, conns, quota));
        first += conns;
    }
    std::atomic<unsigned> done{0};
    rc.start = clock::now();
    std::vector<std::thread> threads;
    for (auto& w : ws)
        threads.emplace_back([&w, &done] {
            w->run();
            done.fetch_add(1);
        });
    progress(rc, ws, done);
    for (auto& t : threads) t.join();
    double elapsed = std::chrono::duration<double>(clock::now() - rc.start).count();

    std::vector<const thread_stats*> stats;
    for (auto& w : ws) stats.push_back(&w->stats());
    report r = merge(p, stats, elapsed);
    rusage usage{};
    if (getrusage(RUSAGE_SELF, &usage) == 0)
        r.cpu_s = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                  static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
    int code = 0;
    if (!p.verify.empty()) {
        r.verified = true;
        std::vector<flow_counts> sinks;
        for (const auto& url : p.verify) {
            try {
                sinks.push_back(fetch_flows(url));
            } catch (const std::exception& e) {
                r.differences.push_back(e.what());
            }
        }
        if (r.differences.empty()) r.differences = compare_flows(r.accepted_by_flow, sinks);
        if (!r.differences.empty()) code = 1;
    }
    if (r.error_rate() > p.max_error_rate) code = 1;
    std::string out = p.json ? render_json(p, r) : render_text(p, r);
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
    if (!p.json)
        for (const auto& d : r.differences) std::fprintf(stderr, "smtp-blackhole-loadgen: verify: %s\n", d.c_str());
    if (r.error_rate() > p.max_error_rate)
        std::fprintf(stderr, "smtp-blackhole-loadgen: %llu errors in %llu messages exceed --max-error-rate %g\n",
                     static_cast<unsigned long long>(r.errors()), static_cast<unsigned long long>(r.sent), p.max_error_rate);
    return code;
}

}  // namespace

int main(int argc, char** argv) {
    cli::command_line cl(program, "SMTP load generator for smtp-blackhole (see loadgen/README.md)");
    add_flags(cl);
    plan p;
    if (auto code = cl.parse(argc, argv, [&] { p = read_plan(cl); })) return *code;
    std::signal(SIGPIPE, SIG_IGN);
    cli::raise_descriptor_limit();
    try {
        return run(p);
    } catch (const usage_error& e) {
        return usage(e.what());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: %s\n", program, e.what());
        return 2;
    }
}
