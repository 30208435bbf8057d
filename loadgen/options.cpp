// Command-line parsing and validation for smtp-blackhole-loadgen. Defaults are the ones in loadgen/README.md.
#include "options.hpp"

#include "cli/units.hpp"

#include <charconv>
#include <cmath>
#include <cxxopts.hpp>
#include <thread>

namespace loadgen {
namespace {

template <class T>
T parse_number(const std::string& s, const char* flag) {
    T v{};
    auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    if (r.ec != std::errc{} || r.ptr != s.data() + s.size()) throw usage_error(std::string("bad ") + flag + " '" + s + "'");
    return v;
}

double parse_double(const std::string& s, const char* flag) {
    try {
        std::size_t used = 0;
        double v = std::stod(s, &used);
        if (used != s.size() || !std::isfinite(v)) throw std::invalid_argument(s);
        return v;
    } catch (const std::exception&) {
        throw usage_error(std::string("bad ") + flag + " '" + s + "'");
    }
}

// A duration above 0 (cli::parse_duration: ms, s, m, h; fractions allowed).
std::chrono::milliseconds parse_seconds(const std::string& s, const char* flag) {
    std::chrono::milliseconds d{};
    try {
        d = cli::parse_duration(s);
    } catch (const std::invalid_argument& e) {
        throw usage_error(std::string(flag) + ": " + e.what());
    }
    if (d.count() == 0) throw usage_error(std::string(flag) + " must be above 0");
    return d;
}

target parse_target(const std::string& s) {
    target t;
    t.text = s;
    cli::host_port hp;
    try {
        hp = cli::split_host_port(s);
    } catch (const std::invalid_argument& e) {
        throw usage_error(std::string("--target: ") + e.what());
    }
    t.host = hp.host;
    const auto& port = hp.port;
    auto p = parse_number<unsigned>(port, "--target port");
    if (p == 0 || p > 65535) throw usage_error("bad --target port in '" + s + "'");
    t.port = port;
    return t;
}

}  // namespace

std::uint64_t parse_size(const std::string& s) {
    std::uint64_t n = 0;
    try {
        n = cli::parse_size(s);
    } catch (const std::invalid_argument& e) {
        throw usage_error(std::string("--size: ") + e.what());
    }
    if (n > (1ull << 40)) throw usage_error("--size '" + s + "' is too large");
    return n;
}

plan parse_options(int argc, char** argv) {
    cxxopts::Options o("smtp-blackhole-loadgen", "SMTP load generator for smtp-blackhole (see loadgen/README.md)");
    o.add_options()
        ("target", "SMTP server HOST:PORT; repeatable (connections are spread over them)", cxxopts::value<std::vector<std::string>>())
        ("threads", "threads, one event loop each (default: number of cores)", cxxopts::value<unsigned>())
        ("connections", "concurrent connections over all threads", cxxopts::value<std::string>()->default_value("10"))
        ("messages", "messages to send in total (default 10000 unless --duration is given)", cxxopts::value<std::string>())
        ("duration", "stop starting messages after this long (s, ms, m, h)", cxxopts::value<std::string>())
        ("messages-per-connection", "messages per connection before QUIT and a new one; 0: unlimited", cxxopts::value<std::string>()->default_value("0"))
        ("recipients", "recipients per message", cxxopts::value<std::string>()->default_value("1"))
        ("size", "message size in bytes (K, M, G)", cxxopts::value<std::string>()->default_value("1024"))
        ("rate", "messages per second, open loop; 0: closed loop", cxxopts::value<std::string>()->default_value("0"))
        ("pipelining", "RFC 2920: MAIL, RCPT and DATA in one write")
        ("bdat", "RFC 3030: MAIL, RCPT, BDAT n LAST and the message in one write")
        ("starttls", "STARTTLS after the first EHLO")
        ("tls", "implicit TLS from the first byte (RFC 8314)")
        ("auth", "AUTH PLAIN with USER:PASS", cxxopts::value<std::string>())
        ("flows", "spread messages over flows load-0..load-F-1 (X-Flow header)", cxxopts::value<std::string>())
        ("flow", "put every message in this flow (X-Flow header)", cxxopts::value<std::string>())
        ("helo", "EHLO name", cxxopts::value<std::string>()->default_value("loadgen.test"))
        ("from", "envelope sender", cxxopts::value<std::string>()->default_value("loadgen@loadgen.test"))
        ("to-domain", "recipients are rcptN@DOMAIN", cxxopts::value<std::string>()->default_value("sink.test"))
        ("timeout", "longest wait for a connect, handshake or reply", cxxopts::value<std::string>()->default_value("30s"))
        ("verify", "after the run, compare per-flow counts with this sink's HTTP API (http://HOST:PORT); repeatable", cxxopts::value<std::vector<std::string>>())
        ("reset", "DELETE /api/v1/flows on every --verify sink before the run")
        ("max-error-rate", "share of messages allowed to fail (refused or lost) before exit 1", cxxopts::value<std::string>()->default_value("0"))
        ("json", "print the report as one JSON object")
        ("quiet", "no progress line")
        ("help", "print this and exit")
        ("version", "print the version and exit");
    plan p;
    cxxopts::ParseResult r;
    try {
        r = o.parse(argc, argv);
    } catch (const std::exception& e) {
        throw usage_error(e.what());
    }
    if (!r.unmatched().empty()) throw usage_error("unexpected argument '" + r.unmatched().front() + "'");
    if (r.count("help")) {
        p.help = true;
        p.help_text = o.help();
        return p;
    }
    if (r.count("version")) {
        p.version = true;
        return p;
    }
    try {
        auto targets = r.count("target") ? r["target"].as<std::vector<std::string>>() : std::vector<std::string>{"127.0.0.1:2525"};
        for (const auto& t : targets) p.targets.push_back(parse_target(t));
        p.threads = r.count("threads") ? r["threads"].as<unsigned>() : std::max(1u, std::thread::hardware_concurrency());
        if (p.threads == 0 || p.threads > 1024) throw usage_error("--threads must be 1 to 1024");
        p.connections = parse_number<unsigned>(r["connections"].as<std::string>(), "--connections");
        if (p.connections == 0 || p.connections > 1'000'000) throw usage_error("--connections must be 1 to 1000000");
        if (r.count("duration")) p.duration = parse_seconds(r["duration"].as<std::string>(), "--duration");
        if (r.count("messages")) {
            p.messages = parse_number<std::uint64_t>(r["messages"].as<std::string>(), "--messages");
            if (p.messages == 0) throw usage_error("--messages must be above 0");
        } else if (p.duration.count() == 0) {
            p.messages = 10000;
        }
        p.per_connection = parse_number<std::uint64_t>(r["messages-per-connection"].as<std::string>(), "--messages-per-connection");
        p.recipients = parse_number<unsigned>(r["recipients"].as<std::string>(), "--recipients");
        if (p.recipients == 0 || p.recipients > 1000) throw usage_error("--recipients must be 1 to 1000");
        p.size = parse_size(r["size"].as<std::string>());
        p.rate = parse_double(r["rate"].as<std::string>(), "--rate");
        if (p.rate < 0) throw usage_error("--rate must not be negative");
        p.pipelining = r.count("pipelining") > 0;
        p.bdat = r.count("bdat") > 0;
        p.starttls = r.count("starttls") > 0;
        p.tls = r.count("tls") > 0;
        if (p.starttls && p.tls) throw usage_error("--starttls and --tls exclude each other");
        if (r.count("auth")) {
            auto a = r["auth"].as<std::string>();
            auto colon = a.find(':');
            if (colon == std::string::npos || colon == 0) throw usage_error("bad --auth (expected USER:PASS)");
            p.auth_user = a.substr(0, colon);
            p.auth_pass = a.substr(colon + 1);
        }
        if (r.count("flows") && r.count("flow")) throw usage_error("--flows and --flow exclude each other");
        if (r.count("flows")) {
            auto f = parse_number<unsigned>(r["flows"].as<std::string>(), "--flows");
            if (f == 0 || f > 10000) throw usage_error("--flows must be 1 to 10000");
            for (unsigned i = 0; i < f; ++i) p.flows.push_back("load-" + std::to_string(i));
        } else if (r.count("flow")) {
            auto f = r["flow"].as<std::string>();
            if (f.empty() || f.size() > 128) throw usage_error("--flow must be 1 to 128 bytes");
            for (unsigned char c : f)
                if (c < 0x21 || c > 0x7e || c == '"' || c == '\\') throw usage_error("--flow must be printable ASCII without quotes or backslashes");
            p.flows.push_back(f);
        } else {
            p.flows.push_back("");
        }
        p.helo = r["helo"].as<std::string>();
        p.from = r["from"].as<std::string>();
        p.to_domain = r["to-domain"].as<std::string>();
        p.timeout = parse_seconds(r["timeout"].as<std::string>(), "--timeout");
        if (r.count("verify")) p.verify = r["verify"].as<std::vector<std::string>>();
        for (const auto& v : p.verify)
            if (!v.starts_with("http://")) throw usage_error("bad --verify '" + v + "' (expected http://HOST:PORT)");
        p.reset = r.count("reset") > 0;
        if (p.reset && p.verify.empty()) throw usage_error("--reset needs --verify");
        p.max_error_rate = parse_double(r["max-error-rate"].as<std::string>(), "--max-error-rate");
        if (p.max_error_rate < 0 || p.max_error_rate > 1) throw usage_error("--max-error-rate must be 0 to 1");
        p.json = r.count("json") > 0;
        p.quiet = r.count("quiet") > 0;
    } catch (const cxxopts::exceptions::exception& e) {
        throw usage_error(e.what());
    }
    if (p.threads > p.connections) p.threads = p.connections;  // a thread without a connection has nothing to do
    return p;
}

}  // namespace loadgen
