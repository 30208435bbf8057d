// The daemon's flags and their validation. A flag's default is the default configuration's value written back
// as text (64M, 300s), so each default is stated once: in server::settings, sink::options or defaults().
#include "config.hpp"

#include <unistd.h>

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <charconv>
#include <random>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "cli/units.hpp"
#include "fault/rule.hpp"
#include "proxy/cidr.hpp"
#include "sink/flow_key.hpp"
#include "smtp/ascii.hpp"

namespace config {
namespace {

using cli::usage_error;
using strings = std::vector<std::string>;
using auth_mode = server::settings::auth_mode;

// The modes --auth names (auth_mode::users comes from --auth-users).
constexpr std::pair<std::string_view, auth_mode> auth_modes[] = {{"none", auth_mode::none}, {"any", auth_mode::any}};

std::string default_hostname() {
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
    return buf;
}

// The text parse_listen reads back as these listeners, comma-separated as cxxopts splits a list's default.
std::string listen_text(const std::vector<server::listen_address>& ls) {
    std::string out;
    for (const auto& l : ls) {
        if (!out.empty()) out += ',';
        const bool v6 = l.host.find(':') != std::string::npos;
        out += (v6 ? "[" + l.host + "]" : l.host) + ":" + std::to_string(l.port);
    }
    return out;
}

std::string auth_text(auth_mode m) {
    for (const auto& [name, mode] : auth_modes)
        if (mode == m) return std::string(name);
    return "none";
}

std::string version_text(server::tls_version v) { return std::string(server::tls_version_name(v)); }

std::vector<server::listen_address> listeners(const cli::command_line& cl, const std::string& flag) {
    std::vector<server::listen_address> out;
    try {
        for (const auto& l : cl.get<strings>(flag)) out.push_back(parse_listen(l));
    } catch (const usage_error& e) {
        throw usage_error("--" + flag + ": " + e.what());
    }
    return out;
}

void add_listen_flags(cli::command_line& cl, const config& d) {
    const auto& s = d.server;
    // clang-format off
    cl.add()
        ("smtp-listen", "SMTP listener ADDR:PORT or [v6]:PORT; repeatable; port 0 picks a free port",
            cxxopts::value<strings>()->default_value(listen_text(s.smtp_listen)))
        ("threads", "worker threads (one io_context each)",
            cxxopts::value<std::size_t>()->default_value(std::to_string(s.threads)))
        ("hostname", "name in the greeting and the EHLO reply",
            cxxopts::value<std::string>()->default_value(s.smtp.hostname))
        ("max-message-size", "largest message accepted (SIZE), e.g. 64M",
            cxxopts::value<std::string>()->default_value(cli::format_size(s.smtp.max_message_size)))
        ("max-recipients", "recipients per transaction; more get 452 4.5.3",
            cxxopts::value<std::size_t>()->default_value(std::to_string(s.smtp.max_recipients)))
        ("max-connections", "open connections; more get 421 4.3.2 and are closed",
            cxxopts::value<std::size_t>()->default_value(std::to_string(s.max_connections)))
        ("idle-timeout", "time a client may wait between commands",
            cxxopts::value<std::string>()->default_value(cli::format_duration(s.idle_timeout)))
        ("data-timeout", "time a client may stay silent inside DATA or BDAT",
            cxxopts::value<std::string>()->default_value(cli::format_duration(s.data_timeout)))
        ("drain-timeout", "on SIGTERM, time given to transactions in flight",
            cxxopts::value<std::string>()->default_value(cli::format_duration(s.drain_timeout)))
        ("proxy-protocol-from", "a network (CIDR, or one address) whose peers must start with a PROXY header "
            "(v1 or v2; smtp and smtps listeners); peers elsewhere are closed before the greeting; repeatable; none "
            "by default (PROXY off)", cxxopts::value<strings>())
        ("disable-extension", "drop an ESMTP extension from EHLO and refuse its use; repeatable: "
            "pipelining, chunking, size, 8bitmime, smtputf8, enhancedstatuscodes, dsn, starttls, auth",
            cxxopts::value<strings>());
    // clang-format on
}

void add_tls_auth_flags(cli::command_line& cl, const config& d) {
    const auto& s = d.server;
    // clang-format off
    cl.add()
        ("smtps-listen", "implicit-TLS SMTP listener ADDR:PORT (RFC 8314); repeatable; none by default",
            cxxopts::value<strings>())
        ("tls-cert", "certificate chain (PEM); without --tls-cert and --tls-key a self-signed certificate is made",
            cxxopts::value<std::string>()->default_value(s.tls_cert))
        ("tls-key", "private key (PEM) of --tls-cert", cxxopts::value<std::string>()->default_value(s.tls_key))
        ("tls-handshake-timeout", "time a TLS handshake may take",
            cxxopts::value<std::string>()->default_value(cli::format_duration(s.tls_handshake_timeout)))
        ("tls-min-version", "oldest TLS version accepted: 1.0, 1.1, 1.2 or 1.3 (1.0 and 1.1 lower OpenSSL's "
            "security level to 0)", cxxopts::value<std::string>()->default_value(version_text(s.tls.min_version)))
        ("tls-max-version", "newest TLS version accepted: 1.0, 1.1, 1.2 or 1.3",
            cxxopts::value<std::string>()->default_value(version_text(s.tls.max_version)))
        ("tls-ciphers", "TLS 1.2 (and older) ciphers, OpenSSL's cipher-list syntax; OpenSSL's default when not "
            "given", cxxopts::value<std::string>()->default_value(s.tls.ciphers))
        ("tls-ciphersuites", "TLS 1.3 cipher suites, ':'-separated; OpenSSL's default when not given",
            cxxopts::value<std::string>()->default_value(s.tls.ciphersuites))
        ("tls-groups", "key-exchange groups, ':'-separated, preferred first (X25519:P-256); OpenSSL's default when "
            "not given", cxxopts::value<std::string>()->default_value(s.tls.groups))
        ("require-tls", "MAIL and AUTH before STARTTLS get 530 5.7.0")
        ("auth", "AUTH: none (not offered), any (every credential accepted)",
            cxxopts::value<std::string>()->default_value(auth_text(s.auth)))
        ("auth-users", "AUTH against a file of user:password lines",
            cxxopts::value<std::string>()->default_value(s.auth_users_file))
        ("auth-insecure", "offer AUTH without TLS too");
    // clang-format on
}

void add_sink_flags(cli::command_line& cl, const config& d) {
    const auto& k = d.server.sink;
    // clang-format off
    cl.add()
        ("http-listen", "HTTP listener (JSON API, /metrics, the sample viewer) ADDR:PORT; repeatable",
            cxxopts::value<strings>()->default_value(listen_text(d.server.http_listen)))
        ("mailpit-listen", "listener ADDR:PORT of the Mailpit-compatible API (Mailpit's /api/v1 over the capture "
            "ring); repeatable; none by default", cxxopts::value<strings>())
        ("flow-key", "ordered extractors naming a message's flow: header:NAME, rcpt-tag, rcpt-domain, "
            "mail-from, mail-from-domain, helo, auth-user; or none",
            cxxopts::value<std::string>()->default_value(k.flow_key))
        ("max-flows", "distinct flows tracked; more are counted under _overflow",
            cxxopts::value<std::size_t>()->default_value(std::to_string(k.max_flows)))
        ("capture-messages", "messages kept in the capture ring",
            cxxopts::value<std::size_t>()->default_value(std::to_string(k.capture_messages)))
        ("capture-bytes", "bytes kept in the capture ring (raw messages and their summaries)",
            cxxopts::value<std::string>()->default_value(cli::format_size(k.capture_bytes)))
        ("capture-max-message", "a larger message keeps its header and a truncated body",
            cxxopts::value<std::string>()->default_value(cli::format_size(k.capture_max_message)))
        ("sample-rate", "share of messages captured at random, 0 to 1",
            cxxopts::value<double>()->default_value(cli::format_number(k.sample_rate)))
        ("sample-first-per-flow", "the first N messages of every flow are always captured",
            cxxopts::value<std::size_t>()->default_value(std::to_string(k.sample_first_per_flow)))
        ("log-level", "error, warn, info or debug",
            cxxopts::value<std::string>()->default_value(std::string(server::log::level_name(d.log_level))));
    // clang-format on
}

void add_fault_flags(cli::command_line& cl) {
    // clang-format off
    cl.add()
        ("fault", "a fault rule, key=value,... (e.g. stage=rcpt,code=451,first=2; see the README); repeatable, "
            "asked in the order given; none by default", cxxopts::value<std::string>())
        ("fault-seed", "seed of the rules' probability= draws (one generator per connection, with its session "
            "id); random when not given, and logged at start", cxxopts::value<std::string>());
    // clang-format on
}

// --fault (each checked by the rule validator the API uses too) and --fault-seed, or a random seed.
void read_faults(const cli::command_line& cl, server::settings& s) {
    for (const auto& text : cl.every("fault")) {
        try {
            s.faults.push_back(fault::parse(text));
        } catch (const fault::rule_error& e) {
            throw usage_error("--fault '" + text + "': " + e.what());
        }
    }
    if (cl.given("fault-seed")) {
        const auto text = cl.get<std::string>("fault-seed");
        auto r = std::from_chars(text.data(), text.data() + text.size(), s.fault_seed);
        if (r.ec != std::errc{} || r.ptr != text.data() + text.size() || text.empty())
            throw usage_error("--fault-seed must be a whole number from 0 to 18446744073709551615");
    } else {
        std::random_device rd;
        s.fault_seed = (std::uint64_t(rd()) << 32) ^ rd();
    }
}

// The --tls-min-version or --tls-max-version value.
server::tls_version read_tls_version(const cli::command_line& cl, const std::string& flag) {
    const auto text = cl.get<std::string>(flag);
    if (auto v = server::parse_tls_version(text)) return *v;
    throw usage_error("--" + flag + " '" + text + "': a version is 1.0, 1.1, 1.2 or 1.3 (or TLSv1, TLSv1.1, "
                      "TLSv1.2, TLSv1.3)");
}

// The TLS policy flags, checked by OpenSSL itself on a context made for the check.
void read_tls_policy(const cli::command_line& cl, server::tls_policy& p) {
    p.min_version = read_tls_version(cl, "tls-min-version");
    p.max_version = read_tls_version(cl, "tls-max-version");
    p.ciphers = cl.get<std::string>("tls-ciphers");
    p.ciphersuites = cl.get<std::string>("tls-ciphersuites");
    p.groups = cl.get<std::string>("tls-groups");
    try {
        server::check_tls_policy(p);
    } catch (const std::invalid_argument& e) {
        throw usage_error(e.what());
    }
}

void read_tls_auth(const cli::command_line& cl, server::settings& s) {
    if (cl.given("smtps-listen")) s.smtps_listen = listeners(cl, "smtps-listen");  // no default: none
    s.tls_cert = cl.get<std::string>("tls-cert");
    s.tls_key = cl.get<std::string>("tls-key");
    if (s.tls_cert.empty() != s.tls_key.empty()) throw usage_error("--tls-cert and --tls-key go together");
    s.tls_handshake_timeout = cl.duration("tls-handshake-timeout");
    if (s.tls_handshake_timeout.count() == 0) throw usage_error("--tls-handshake-timeout must be above 0");
    read_tls_policy(cl, s.tls);
    s.smtp.require_tls = cl.given("require-tls");
    s.smtp.auth_insecure = cl.given("auth-insecure");
    const auto auth = cl.get<std::string>("auth");
    s.auth_users_file = cl.get<std::string>("auth-users");
    auto known = std::find_if(std::begin(auth_modes), std::end(auth_modes), [&](auto& m) { return m.first == auth; });
    if (known == std::end(auth_modes)) throw usage_error("--auth must be none or any (or use --auth-users FILE)");
    s.auth = known->second;
    if (!s.auth_users_file.empty()) {
        if (s.auth != auth_mode::none) throw usage_error("--auth-users and --auth " + auth + " exclude each other");
        s.auth = auth_mode::users;
    }
}

void read_limits(const cli::command_line& cl, server::settings& s) {
    s.threads = cl.get<std::size_t>("threads");
    if (s.threads < 1 || s.threads > 1024) throw usage_error("--threads must be between 1 and 1024");
    s.smtp.hostname = cl.get<std::string>("hostname");
    if (s.smtp.hostname.empty() || s.smtp.hostname.find_first_of(" \r\n\t") != std::string::npos)
        throw usage_error("--hostname must be one word");
    s.smtp.max_message_size = cl.size("max-message-size");
    if (s.smtp.max_message_size == 0) throw usage_error("--max-message-size must be above 0");
    s.smtp.max_recipients = cl.get<std::size_t>("max-recipients");
    if (s.smtp.max_recipients == 0) throw usage_error("--max-recipients must be above 0");
    s.max_connections = cl.get<std::size_t>("max-connections");
    if (s.max_connections == 0) throw usage_error("--max-connections must be above 0");
    s.idle_timeout = cl.duration("idle-timeout");
    s.data_timeout = cl.duration("data-timeout");
    s.drain_timeout = cl.duration("drain-timeout");
    if (s.idle_timeout.count() == 0 || s.data_timeout.count() == 0)
        throw usage_error("--idle-timeout and --data-timeout must be above 0");
    if (cl.given("disable-extension"))
        for (const auto& name : cl.get<strings>("disable-extension")) {
            smtp::extension e{};
            if (!smtp::extension_from_name(name, e))
                throw usage_error("--disable-extension: unknown extension '" + name + "'");
            s.smtp.disable(e);
        }
}

// --proxy-protocol-from: each network as proxy::cidr reads it.
void read_proxy(const cli::command_line& cl, server::settings& s) {
    if (!cl.given("proxy-protocol-from")) return;
    for (const auto& text : cl.get<strings>("proxy-protocol-from")) {
        auto net = proxy::cidr::parse(text);
        if (!net)
            throw usage_error("--proxy-protocol-from: '" + text + "' is not a network: an address with an optional "
                              "/prefix and no host bits set (10.0.0.0/8, 2001:db8::/32, 192.0.2.1)");
        s.proxy_from.push_back(*net);
    }
}

void read_sink(const cli::command_line& cl, sink::options& k) {
    k.flow_key = cl.get<std::string>("flow-key");
    try {
        sink::flow_key::parse(k.flow_key);
    } catch (const std::invalid_argument& e) {
        throw usage_error(e.what());
    }
    k.max_flows = cl.get<std::size_t>("max-flows");
    if (k.max_flows == 0 || k.max_flows > 1'000'000) throw usage_error("--max-flows must be between 1 and 1000000");
    k.capture_messages = cl.get<std::size_t>("capture-messages");
    k.capture_bytes = cl.size("capture-bytes");
    k.capture_max_message = cl.size("capture-max-message");
    if (k.capture_max_message == 0) throw usage_error("--capture-max-message must be above 0");
    k.sample_rate = cl.get<double>("sample-rate");
    if (!(k.sample_rate >= 0.0 && k.sample_rate <= 1.0)) throw usage_error("--sample-rate must be between 0 and 1");
    k.sample_first_per_flow = cl.get<std::size_t>("sample-first-per-flow");
}

}  // namespace

config defaults() {
    config c;
    c.server.threads = std::max(1u, std::thread::hardware_concurrency());
    c.server.smtp.hostname = default_hostname();
    return c;
}

void add_flags(cli::command_line& cl) {
    const config d = defaults();
    add_listen_flags(cl, d);
    add_tls_auth_flags(cl, d);
    add_sink_flags(cl, d);
    add_fault_flags(cl);
}

server::listen_address parse_listen(const std::string& s) {
    cli::host_port hp;
    try {
        hp = cli::split_host_port(s);
    } catch (const std::invalid_argument& e) {
        throw usage_error(std::string("listen address: ") + e.what());
    }
    boost::system::error_code ec;
    auto addr = boost::asio::ip::make_address(hp.host, ec);
    if (ec) throw usage_error("bad listen address '" + s + "': '" + hp.host + "' is not an IP address");
    const auto& port = hp.port;
    unsigned p = 0;
    auto r = std::from_chars(port.data(), port.data() + port.size(), p);
    if (r.ec != std::errc{} || r.ptr != port.data() + port.size() || p > 65535 || port.empty())
        throw usage_error("bad port in listen address '" + s + "'");
    return {addr.to_string(), static_cast<unsigned short>(p)};
}

config read(const cli::command_line& cl) {
    config c;
    auto& s = c.server;
    s.smtp_listen = listeners(cl, "smtp-listen");
    s.http_listen = listeners(cl, "http-listen");
    if (cl.given("mailpit-listen")) s.mailpit_listen = listeners(cl, "mailpit-listen");  // no default: none
    read_tls_auth(cl, s);
    read_limits(cl, s);
    read_proxy(cl, s);
    c.max_connections_given = cl.given("max-connections");
    read_sink(cl, s.sink);
    read_faults(cl, s);
    if (!server::log::parse_level(cl.get<std::string>("log-level"), c.log_level))
        throw usage_error("--log-level must be error, warn, info or debug");
    return c;
}

}  // namespace config
