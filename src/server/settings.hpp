// What the server needs from the configuration: listeners, threads, limits and timeouts.
// Filled by src/config.cpp from the command line; the protocol's own options are in smtp::options.
#pragma once
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "fault/rule.hpp"
#include "proxy/cidr.hpp"
#include "server/tls_policy.hpp"
#include "sink/sink.hpp"
#include "smtp/options.hpp"

namespace server {

struct listen_address {
    std::string host;  // an IPv4 or IPv6 literal, without brackets
    unsigned short port = 0;
};

struct settings {
    std::vector<listen_address> smtp_listen{{"127.0.0.1", 2525}};
    std::vector<listen_address> http_listen{{"127.0.0.1", 8025}};
    std::vector<listen_address> smtps_listen;  // implicit TLS (RFC 8314)
    std::vector<listen_address> mailpit_listen;  // the Mailpit-compatible API; none by default
    std::string tls_cert, tls_key;            // PEM files; both empty: a self-signed pair for the hostname
    std::chrono::milliseconds tls_handshake_timeout{10'000};
    tls_policy tls;  // versions, ciphers and groups of every TLS context, STARTTLS and smtps alike
    enum class auth_mode { none, any, users } auth = auth_mode::none;
    std::string auth_users_file;
    std::size_t threads = 1;
    std::size_t max_connections = 100000;
    std::chrono::milliseconds idle_timeout{300'000};   // RFC 5321 4.5.3.2.7: at least 5 minutes
    std::chrono::milliseconds data_timeout{600'000};   // RFC 5321 4.5.3.2.6: 10 minutes between DATA blocks
    std::chrono::milliseconds drain_timeout{10'000};
    // --proxy-protocol-from: peers in these networks must start with a PROXY header; others are closed at once.
    // Empty: the PROXY protocol is off, every peer talks SMTP (or TLS) from its first byte.
    std::vector<proxy::cidr> proxy_from;
    smtp::options smtp;
    sink::options sink;
    std::vector<fault::rule> faults;  // --fault, in the order given
    std::uint64_t fault_seed = 0;     // --fault-seed (random when not given: chosen by the configuration)
};

}  // namespace server
