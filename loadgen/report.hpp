// The final report: every thread's counts merged, printed as text or as one JSON object (--json).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "options.hpp"
#include "stats.hpp"

namespace loadgen {

struct report {
    double elapsed_s = 0;
    double cpu_s = 0;  // the generator's own CPU time (user + system, every thread) until the end of the run
    std::uint64_t sent = 0, accepted = 0, refused = 0, lost = 0, retried = 0, retried_lost = 0;
    std::uint64_t connections = 0, tls_handshakes = 0, tls_resumed = 0;
    std::uint64_t connect_errors = 0, tls_errors = 0, conn_errors = 0, protocol_errors = 0;
    std::map<unsigned, std::uint64_t> refused_by_code;
    std::map<std::string, std::uint64_t> accepted_by_flow;  // as the sink names them ("_default" for none)
    histogram txn, connect, tls;
    std::string first_error;
    bool verified = false;                                  // --verify was run
    std::vector<std::string> differences;                  // --verify findings
    std::uint64_t errors() const noexcept { return refused + connect_errors + tls_errors + conn_errors + protocol_errors; }
    double error_rate() const noexcept;
};

report merge(const plan& p, const std::vector<const thread_stats*>& threads, double elapsed_s);
std::string render_text(const plan& p, const report& r);
std::string render_json(const plan& p, const report& r);

}  // namespace loadgen
