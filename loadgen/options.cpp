// The load generator's flags and their validation (documented in loadgen/README.md). A flag's default is the
// default plan's value written back as text, so each default is stated once, in options.hpp.
#include "options.hpp"

#include <charconv>
#include <cmath>
#include <thread>

#include "cli/units.hpp"

namespace loadgen {
namespace {

using strings = std::vector<std::string>;

template <class T>
T parse_number(const std::string& s, const std::string& flag) {
    T v{};
    auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    if (r.ec != std::errc{} || r.ptr != s.data() + s.size()) throw usage_error("bad " + flag + " '" + s + "'");
    return v;
}

// The flag's value as a whole number of type T.
template <class T>
T number(const cli::command_line& cl, const std::string& flag) {
    return parse_number<T>(cl.get<std::string>(flag), "--" + flag);
}

// The flag's value as a finite decimal number.
double decimal(const cli::command_line& cl, const std::string& flag) {
    const auto s = cl.get<std::string>(flag);
    try {
        std::size_t used = 0;
        double v = std::stod(s, &used);
        if (used != s.size() || !std::isfinite(v)) throw std::invalid_argument(s);
        return v;
    } catch (const std::exception&) {
        throw usage_error("bad --" + flag + " '" + s + "'");
    }
}

// The flag's value as a duration above 0.
std::chrono::milliseconds positive_duration(const cli::command_line& cl, const std::string& flag) {
    auto d = cl.duration(flag);
    if (d.count() == 0) throw usage_error("--" + flag + " must be above 0");
    return d;
}

target parse_target(const std::string& s) {
    cli::host_port hp;
    try {
        hp = cli::split_host_port(s);
    } catch (const std::invalid_argument& e) {
        throw usage_error(std::string("--target: ") + e.what());
    }
    auto p = parse_number<unsigned>(hp.port, "--target port");
    if (p == 0 || p > 65535) throw usage_error("bad --target port in '" + s + "'");
    return {hp.host, hp.port, s};
}

// What to send, how much and how fast.
void read_load(const cli::command_line& cl, plan& p) {
    for (const auto& t : cl.get<strings>("target")) p.targets.push_back(parse_target(t));
    p.threads = cl.given("threads") ? cl.get<unsigned>("threads") : std::max(1u, std::thread::hardware_concurrency());
    if (p.threads == 0 || p.threads > 1024) throw usage_error("--threads must be 1 to 1024");
    p.connections = number<unsigned>(cl, "connections");
    if (p.connections == 0 || p.connections > 1'000'000) throw usage_error("--connections must be 1 to 1000000");
    if (cl.given("duration")) p.duration = positive_duration(cl, "duration");
    if (cl.given("messages")) {
        p.messages = number<std::uint64_t>(cl, "messages");
        if (p.messages == 0) throw usage_error("--messages must be above 0");
    } else if (p.duration.count() == 0) {
        p.messages = plan::messages_without_duration;
    }
    p.per_connection = number<std::uint64_t>(cl, "messages-per-connection");
    p.recipients = number<unsigned>(cl, "recipients");
    if (p.recipients == 0 || p.recipients > 1000) throw usage_error("--recipients must be 1 to 1000");
    p.size = cl.size("size");
    if (p.size > (1ull << 40)) throw usage_error("--size '" + cl.get<std::string>("size") + "' is too large");
    p.rate = decimal(cl, "rate");
    if (p.rate < 0) throw usage_error("--rate must not be negative");
}

// The SMTP session: extensions, TLS, AUTH, flows and envelope.
void read_session(const cli::command_line& cl, plan& p) {
    p.pipelining = cl.given("pipelining");
    p.bdat = cl.given("bdat");
    p.starttls = cl.given("starttls");
    p.tls = cl.given("tls");
    if (p.starttls && p.tls) throw usage_error("--starttls and --tls exclude each other");
    const auto resume = cl.get<std::string>("tls-resume");
    if (resume == "ticket") p.tls_resume = plan::resume::ticket;
    else if (resume == "id") p.tls_resume = plan::resume::id;
    else if (resume == "off") p.tls_resume = plan::resume::off;
    else throw usage_error("bad --tls-resume '" + resume + "' (expected ticket, id or off)");
    if (cl.given("tls-version")) {
        p.tls_version = cl.get<std::string>("tls-version");
        if (p.tls_version != "1.2" && p.tls_version != "1.3")
            throw usage_error("bad --tls-version '" + p.tls_version + "' (expected 1.2 or 1.3)");
    }
    if (p.tls_resume == plan::resume::id && p.tls_version != "1.2")
        throw usage_error("--tls-resume id needs --tls-version 1.2 (TLS 1.3 resumes with tickets only)");
    if (cl.given("auth")) {
        auto a = cl.get<std::string>("auth");
        auto colon = a.find(':');
        if (colon == std::string::npos || colon == 0) throw usage_error("bad --auth (expected USER:PASS)");
        p.auth_user = a.substr(0, colon);
        p.auth_pass = a.substr(colon + 1);
    }
    if (cl.given("flows") && cl.given("flow")) throw usage_error("--flows and --flow exclude each other");
    if (cl.given("flows")) {
        auto f = number<unsigned>(cl, "flows");
        if (f == 0 || f > 10000) throw usage_error("--flows must be 1 to 10000");
        for (unsigned i = 0; i < f; ++i) p.flows.push_back("load-" + std::to_string(i));
    } else if (cl.given("flow")) {
        auto f = cl.get<std::string>("flow");
        if (f.empty() || f.size() > 128) throw usage_error("--flow must be 1 to 128 bytes");
        for (unsigned char c : f)
            if (c < 0x21 || c > 0x7e || c == '"' || c == '\\')
                throw usage_error("--flow must be printable ASCII without quotes or backslashes");
        p.flows.push_back(f);
    } else {
        p.flows.push_back("");
    }
    p.helo = cl.get<std::string>("helo");
    p.from = cl.get<std::string>("from");
    p.to_domain = cl.get<std::string>("to-domain");
}

// Timeouts, verification and the report.
void read_run(const cli::command_line& cl, plan& p) {
    p.timeout = positive_duration(cl, "timeout");
    if (cl.given("verify")) p.verify = cl.get<strings>("verify");
    for (const auto& v : p.verify)
        if (!v.starts_with("http://")) throw usage_error("bad --verify '" + v + "' (expected http://HOST:PORT)");
    p.reset = cl.given("reset");
    if (p.reset && p.verify.empty()) throw usage_error("--reset needs --verify");
    p.max_error_rate = decimal(cl, "max-error-rate");
    if (p.max_error_rate < 0 || p.max_error_rate > 1) throw usage_error("--max-error-rate must be 0 to 1");
    p.retries = number<unsigned>(cl, "retries");
    if (p.retries > plan::max_retries) throw usage_error("--retries must be 0 to " + std::to_string(plan::max_retries));
    p.json = cl.given("json");
    p.quiet = cl.given("quiet");
}

}  // namespace

void add_flags(cli::command_line& cl) {
    const plan d;
    const auto text = [](const auto& v) { return cxxopts::value<std::string>()->default_value(v); };
    const auto count = [&](auto n) { return text(std::to_string(n)); };
    const auto without_duration = std::to_string(plan::messages_without_duration);
    // clang-format off
    cl.add()
        ("target", "SMTP server HOST:PORT; repeatable (connections are spread over them)",
            cxxopts::value<strings>()->default_value(plan::default_target))
        ("threads", "threads, one event loop each (default: number of cores)", cxxopts::value<unsigned>())
        ("connections", "concurrent connections over all threads", count(d.connections))
        ("messages", "messages to send in total (default " + without_duration + " unless --duration is given)",
            cxxopts::value<std::string>())
        ("duration", "stop starting messages after this long (s, ms, m, h)", cxxopts::value<std::string>())
        ("messages-per-connection", "messages per connection before QUIT and a new one; 0: unlimited",
            count(d.per_connection))
        ("recipients", "recipients per message", count(d.recipients))
        ("size", "message size in bytes (K, M, G)", count(d.size))
        ("rate", "messages per second, open loop; 0: closed loop", text(cli::format_number(d.rate)))
        ("pipelining", "RFC 2920: MAIL, RCPT and DATA in one write")
        ("bdat", "RFC 3030: MAIL, RCPT, BDAT n LAST and the message in one write")
        ("starttls", "STARTTLS after the first EHLO")
        ("tls", "implicit TLS from the first byte (RFC 8314)")
        ("tls-resume", "resume TLS sessions when a connection slot connects again: ticket, id (TLS 1.2 session ids) "
            "or off", text("ticket"))
        ("tls-version", "TLS version to use: 1.2 or 1.3 (default: the highest both sides have)",
            cxxopts::value<std::string>())
        ("auth", "AUTH PLAIN with USER:PASS", cxxopts::value<std::string>())
        ("flows", "spread messages over flows load-0..load-F-1 (X-Flow header)", cxxopts::value<std::string>())
        ("flow", "put every message in this flow (X-Flow header)", cxxopts::value<std::string>())
        ("helo", "EHLO name", text(d.helo))
        ("from", "envelope sender", text(d.from))
        ("to-domain", "recipients are rcptN@DOMAIN", text(d.to_domain))
        ("timeout", "longest wait for a connect, handshake or reply", text(cli::format_duration(d.timeout)))
        ("verify", "after the run, compare per-flow counts with this sink's HTTP API (http://HOST:PORT); "
            "repeatable", cxxopts::value<strings>())
        ("reset", "DELETE /api/v1/flows on every --verify sink before the run")
        ("max-error-rate", "share of messages allowed to fail (refused or lost) before exit 1",
            text(cli::format_number(d.max_error_rate)))
        ("retries", "send a message again, up to N more times, when its connection broke before the final 250 "
            "or it was refused with a 4xx", count(d.retries))
        ("json", "print the report as one JSON object")
        ("quiet", "no progress line");
    // clang-format on
}

plan read_plan(const cli::command_line& cl) {
    plan p;
    read_load(cl, p);
    read_session(cl, p);
    read_run(cl, p);
    if (p.threads > p.connections) p.threads = p.connections;  // a thread without a connection has nothing to do
    return p;
}

}  // namespace loadgen
