// Command-line parsing and validation. Defaults are the ones documented in the README.
#include "config.hpp"

#include <unistd.h>

#include <boost/asio/ip/address.hpp>
#include <charconv>
#include <cxxopts.hpp>
#include <stdexcept>
#include <thread>

#include "cli/units.hpp"
#include "sink/flow_key.hpp"
#include "smtp/ascii.hpp"

namespace config {
namespace {

std::string default_hostname() {
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
    return buf;
}

// Splits "123abc" into 123 and "abc"; throws when there is no leading number.
std::pair<std::uint64_t, std::string> number_and_unit(const std::string& s, const char* what) {
    std::uint64_t n = 0;
    auto r = std::from_chars(s.data(), s.data() + s.size(), n);
    if (r.ec != std::errc{} || r.ptr == s.data()) throw error(std::string("bad ") + what + " '" + s + "'");
    std::string unit(r.ptr, s.data() + s.size());
    smtp::ascii::to_lower(unit);
    return {n, unit};
}

std::uint64_t checked_mul(std::uint64_t n, std::uint64_t m, const std::string& s, const char* what) {
    if (m != 0 && n > UINT64_MAX / m) throw error(std::string(what) + " '" + s + "' is too large");
    return n * m;
}

}  // namespace

std::uint64_t parse_size(const std::string& s) {
    try {
        return cli::parse_size(s);
    } catch (const std::invalid_argument& e) {
        throw error(e.what());
    }
}

std::chrono::milliseconds parse_duration(const std::string& s) {
    auto [n, unit] = number_and_unit(s, "duration");
    std::uint64_t m = 0;
    if (unit.empty() || unit == "s")
        m = 1000;
    else if (unit == "ms")
        m = 1;
    else if (unit == "m")
        m = 60'000;
    else if (unit == "h")
        m = 3'600'000;
    else
        throw error("bad duration unit in '" + s + "' (use ms, s, m or h)");
    auto ms = checked_mul(n, m, s, "duration");
    if (ms > 365ull * 24 * 3'600'000) throw error("duration '" + s + "' is too large");
    return std::chrono::milliseconds(ms);
}

server::listen_address parse_listen(const std::string& s) {
    server::listen_address l;
    cli::host_port hp;
    try {
        hp = cli::split_host_port(s);
    } catch (const std::invalid_argument& e) {
        throw error(std::string("listen address: ") + e.what());
    }
    const auto& host = hp.host;
    const auto& port = hp.port;
    boost::system::error_code ec;
    auto addr = boost::asio::ip::make_address(host, ec);
    if (ec) throw error("bad listen address '" + s + "': '" + host + "' is not an IP address");
    unsigned p = 0;
    auto r = std::from_chars(port.data(), port.data() + port.size(), p);
    if (r.ec != std::errc{} || r.ptr != port.data() + port.size() || p > 65535 || port.empty())
        throw error("bad port in listen address '" + s + "'");
    l.host = addr.to_string();
    l.port = static_cast<unsigned short>(p);
    return l;
}

config parse(int argc, const char* const* argv) {
    cxxopts::Options o("smtp-blackhole", "An SMTP sink: accepts mail fast, counts it exactly, keeps none of it.");
    auto threads = std::max(1u, std::thread::hardware_concurrency());
    // clang-format off
    o.add_options()
        ("smtp-listen", "SMTP listener ADDR:PORT or [v6]:PORT; repeatable; port 0 picks a free port",
            cxxopts::value<std::vector<std::string>>()->default_value("127.0.0.1:2525"))
        ("threads", "worker threads (one io_context each)",
            cxxopts::value<std::size_t>()->default_value(std::to_string(threads)))
        ("hostname", "name in the greeting and the EHLO reply",
            cxxopts::value<std::string>()->default_value(default_hostname()))
        ("max-message-size", "largest message accepted (SIZE), e.g. 64M",
            cxxopts::value<std::string>()->default_value("64M"))
        ("max-recipients", "recipients per transaction; more get 452 4.5.3",
            cxxopts::value<std::size_t>()->default_value("1000"))
        ("max-connections", "open connections; more get 421 4.3.2 and are closed",
            cxxopts::value<std::size_t>()->default_value("100000"))
        ("idle-timeout", "time a client may wait between commands",
            cxxopts::value<std::string>()->default_value("300s"))
        ("data-timeout", "time a client may stay silent inside DATA or BDAT",
            cxxopts::value<std::string>()->default_value("600s"))
        ("drain-timeout", "on SIGTERM, time given to transactions in flight",
            cxxopts::value<std::string>()->default_value("10s"))
        ("disable-extension", "drop an ESMTP extension from EHLO and refuse its use; repeatable: "
            "pipelining, chunking, size, 8bitmime, smtputf8, enhancedstatuscodes, dsn, starttls, auth",
            cxxopts::value<std::vector<std::string>>())
        ("smtps-listen", "implicit-TLS SMTP listener ADDR:PORT (RFC 8314); repeatable; none by default",
            cxxopts::value<std::vector<std::string>>())
        ("tls-cert", "certificate chain (PEM); without --tls-cert and --tls-key a self-signed certificate is made",
            cxxopts::value<std::string>()->default_value(""))
        ("tls-key", "private key (PEM) of --tls-cert", cxxopts::value<std::string>()->default_value(""))
        ("tls-handshake-timeout", "time a TLS handshake may take",
            cxxopts::value<std::string>()->default_value("10s"))
        ("require-tls", "MAIL and AUTH before STARTTLS get 530 5.7.0")
        ("auth", "AUTH: none (not offered), any (every credential accepted)",
            cxxopts::value<std::string>()->default_value("none"))
        ("auth-users", "AUTH against a file of user:password lines", cxxopts::value<std::string>()->default_value(""))
        ("auth-insecure", "offer AUTH without TLS too")
        ("http-listen", "HTTP listener (JSON API, /metrics, the sample viewer) ADDR:PORT; repeatable",
            cxxopts::value<std::vector<std::string>>()->default_value("127.0.0.1:8025"))
        ("flow-key", "ordered extractors naming a message's flow: header:NAME, rcpt-tag, rcpt-domain, "
            "mail-from, mail-from-domain, helo, auth-user; or none",
            cxxopts::value<std::string>()->default_value("header:X-Flow,rcpt-tag"))
        ("max-flows", "distinct flows tracked; more are counted under _overflow",
            cxxopts::value<std::size_t>()->default_value("10000"))
        ("capture-messages", "messages kept in the capture ring", cxxopts::value<std::size_t>()->default_value("1000"))
        ("capture-bytes", "bytes kept in the capture ring", cxxopts::value<std::string>()->default_value("64M"))
        ("capture-max-message", "a larger message keeps its header and a truncated body",
            cxxopts::value<std::string>()->default_value("1M"))
        ("sample-rate", "share of messages captured at random, 0 to 1", cxxopts::value<double>()->default_value("1"))
        ("sample-first-per-flow", "the first N messages of every flow are always captured",
            cxxopts::value<std::size_t>()->default_value("1"))
        ("log-level", "error, warn, info or debug", cxxopts::value<std::string>()->default_value("info"))
        ("h,help", "print this help and exit")
        ("version", "print the version and exit");
    // clang-format on
    config c;
    cxxopts::ParseResult r;
    try {
        r = o.parse(argc, argv);
    } catch (const cxxopts::exceptions::exception& e) {
        throw error(e.what());
    }
    if (!r.unmatched().empty()) throw error("unexpected argument '" + r.unmatched().front() + "'");
    c.help = r.count("help") > 0;
    c.version = r.count("version") > 0;
    c.help_text = o.help();
    try {
        auto& s = c.server;
        s.smtp_listen.clear();
        for (const auto& l : r["smtp-listen"].as<std::vector<std::string>>()) s.smtp_listen.push_back(parse_listen(l));
        s.http_listen.clear();
        for (const auto& l : r["http-listen"].as<std::vector<std::string>>()) s.http_listen.push_back(parse_listen(l));
        if (r.count("smtps-listen"))
            for (const auto& l : r["smtps-listen"].as<std::vector<std::string>>())
                s.smtps_listen.push_back(parse_listen(l));
        s.tls_cert = r["tls-cert"].as<std::string>();
        s.tls_key = r["tls-key"].as<std::string>();
        if (s.tls_cert.empty() != s.tls_key.empty()) throw error("--tls-cert and --tls-key go together");
        s.tls_handshake_timeout = parse_duration(r["tls-handshake-timeout"].as<std::string>());
        if (s.tls_handshake_timeout.count() == 0) throw error("--tls-handshake-timeout must be above 0");
        s.smtp.require_tls = r.count("require-tls") > 0;
        s.smtp.auth_insecure = r.count("auth-insecure") > 0;
        auto auth = r["auth"].as<std::string>();
        s.auth_users_file = r["auth-users"].as<std::string>();
        if (!s.auth_users_file.empty()) {
            if (auth != "none") throw error("--auth-users and --auth " + auth + " exclude each other");
            s.auth = server::settings::auth_mode::users;
        } else if (auth == "any") {
            s.auth = server::settings::auth_mode::any;
        } else if (auth != "none") {
            throw error("--auth must be none or any (or use --auth-users FILE)");
        }
        s.threads = r["threads"].as<std::size_t>();
        if (s.threads < 1 || s.threads > 1024) throw error("--threads must be between 1 and 1024");
        s.smtp.hostname = r["hostname"].as<std::string>();
        if (s.smtp.hostname.empty() || s.smtp.hostname.find_first_of(" \r\n\t") != std::string::npos)
            throw error("--hostname must be one word");
        s.smtp.max_message_size = parse_size(r["max-message-size"].as<std::string>());
        if (s.smtp.max_message_size == 0) throw error("--max-message-size must be above 0");
        s.smtp.max_recipients = r["max-recipients"].as<std::size_t>();
        if (s.smtp.max_recipients == 0) throw error("--max-recipients must be above 0");
        s.max_connections = r["max-connections"].as<std::size_t>();
        c.max_connections_given = r.count("max-connections") > 0;
        if (s.max_connections == 0) throw error("--max-connections must be above 0");
        s.idle_timeout = parse_duration(r["idle-timeout"].as<std::string>());
        s.data_timeout = parse_duration(r["data-timeout"].as<std::string>());
        s.drain_timeout = parse_duration(r["drain-timeout"].as<std::string>());
        if (s.idle_timeout.count() == 0 || s.data_timeout.count() == 0)
            throw error("--idle-timeout and --data-timeout must be above 0");
        if (r.count("disable-extension"))
            for (const auto& name : r["disable-extension"].as<std::vector<std::string>>()) {
                smtp::extension e{};
                if (!smtp::extension_from_name(name, e)) throw error("--disable-extension: unknown extension '" + name + "'");
                s.smtp.disable(e);
            }
        auto& k = s.sink;
        k.flow_key = r["flow-key"].as<std::string>();
        try {
            sink::flow_key::parse(k.flow_key);
        } catch (const std::invalid_argument& e) {
            throw error(e.what());
        }
        k.max_flows = r["max-flows"].as<std::size_t>();
        if (k.max_flows == 0 || k.max_flows > 1'000'000) throw error("--max-flows must be between 1 and 1000000");
        k.capture_messages = r["capture-messages"].as<std::size_t>();
        k.capture_bytes = parse_size(r["capture-bytes"].as<std::string>());
        k.capture_max_message = parse_size(r["capture-max-message"].as<std::string>());
        if (k.capture_max_message == 0) throw error("--capture-max-message must be above 0");
        k.sample_rate = r["sample-rate"].as<double>();
        if (!(k.sample_rate >= 0.0 && k.sample_rate <= 1.0)) throw error("--sample-rate must be between 0 and 1");
        k.sample_first_per_flow = r["sample-first-per-flow"].as<std::size_t>();
        if (!server::log::parse_level(r["log-level"].as<std::string>(), c.log_level))
            throw error("--log-level must be error, warn, info or debug");
    } catch (const cxxopts::exceptions::exception& e) {
        throw error(e.what());
    }
    return c;
}

}  // namespace config
