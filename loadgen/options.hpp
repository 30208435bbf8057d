// The load generator's command line, parsed into a plain plan. Bad usage throws usage_error (one line, exit 2).
#pragma once
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace loadgen {

struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct target {
    std::string host;  // as given, without brackets
    std::string port;
    std::string text;  // "HOST:PORT" as given
};

struct plan {
    std::vector<target> targets;
    unsigned threads = 1;
    unsigned connections = 10;
    std::uint64_t messages = 0;            // 0: no message bound (then a duration is)
    std::chrono::milliseconds duration{0};  // 0: no time bound (then a message count is)
    std::uint64_t per_connection = 0;      // 0: unlimited (connections are reused)
    unsigned recipients = 1;
    std::uint64_t size = 1024;
    double rate = 0;  // messages per second over all threads; 0: closed loop
    bool pipelining = false, bdat = false, starttls = false, tls = false;
    std::string auth_user, auth_pass;  // AUTH PLAIN when auth_user is set
    std::vector<std::string> flows;    // names of the flows, "" for none (no X-Flow header)
    std::string helo = "loadgen.test";
    std::string from = "loadgen@loadgen.test";
    std::string to_domain = "sink.test";
    std::chrono::milliseconds timeout{30000};  // longest wait for one reply, connect or handshake
    std::vector<std::string> verify;           // base URLs of the sinks' HTTP APIs
    bool reset = false;
    double max_error_rate = 0;
    bool json = false, quiet = false;
    bool help = false, version = false;
    std::string help_text;
};

plan parse_options(int argc, char** argv);

// "64M" -> 67108864 (K, M, G binary); throws usage_error.
std::uint64_t parse_size(const std::string& s);

}  // namespace loadgen
