// The load generator's command line, parsed into a plain plan. Bad usage throws usage_error (one line, exit 2).
// A flag's default is the default plan's value, so each is stated once.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "cli/command_line.hpp"

namespace loadgen {

using cli::usage_error;

struct target {
    std::string host;  // as given, without brackets
    std::string port;
    std::string text;  // "HOST:PORT" as given
};

struct plan {
    std::vector<target> targets;
    static constexpr const char* default_target = "127.0.0.1:2525";  // --target's default
    unsigned threads = 1;  // --threads' default is the number of cores
    unsigned connections = 10;
    std::uint64_t messages = 0;            // 0: no message bound (then a duration is)
    static constexpr std::uint64_t messages_without_duration = 10000;  // --messages' default without --duration
    std::chrono::milliseconds duration{0};  // 0: no time bound (then a message count is)
    std::uint64_t per_connection = 0;      // 0: unlimited (connections are reused)
    unsigned recipients = 1;
    std::uint64_t size = 1024;
    double rate = 0;  // messages per second over all threads; 0: closed loop
    bool pipelining = false, bdat = false, starttls = false, tls = false;
    // TLS session resumption across a connection slot's reconnections (--tls-resume): `ticket` offers the last
    // session the server gave it (a TLS 1.3 PSK ticket or a TLS 1.2 ticket), `id` asks for no ticket (TLS 1.2
    // session ids), `off` makes every handshake a full one.
    enum class resume : unsigned char { off, ticket, id };
    resume tls_resume = resume::ticket;
    std::string tls_version;  // "" (the highest both sides have), "1.2" or "1.3" (--tls-version)
    std::string auth_user, auth_pass;  // AUTH PLAIN when auth_user is set
    std::vector<std::string> flows;    // names of the flows, "" for none (no X-Flow header)
    std::string helo = "loadgen.test";
    std::string from = "loadgen@loadgen.test";
    std::string to_domain = "sink.test";
    std::chrono::milliseconds timeout{30000};  // longest wait for one reply, connect or handshake
    std::vector<std::string> verify;           // base URLs of the sinks' HTTP APIs
    bool reset = false;
    double max_error_rate = 0;
    unsigned retries = 0;  // attempts after the first for a message lost or refused with 4xx
    static constexpr unsigned max_retries = 100;
    bool json = false, quiet = false;
};

// The load generator's flags, each with its default from a default plan.
void add_flags(cli::command_line& cl);
// The plan the parsed flags describe; throws usage_error for a bad value.
plan read_plan(const cli::command_line& cl);

}  // namespace loadgen
