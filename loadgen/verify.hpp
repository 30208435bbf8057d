// --verify and --reset: read (GET) or reset (DELETE) each sink's /api/v1/flows over HTTP/1.1 and compare the
// per-flow message counts, summed over the sinks, with the messages the generator saw accepted (final 250).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace loadgen {

struct flow_counts {
    std::map<std::string, std::uint64_t> messages;  // flow name -> accepted messages
    std::uint64_t overflow = 0;                    // messages the sink put under _overflow
};

// Throw std::runtime_error (one line) when the sink cannot be reached or answers badly.
flow_counts fetch_flows(const std::string& url);
void reset_flows(const std::string& url);

// Every difference between what the generator counted and the sum over the sinks, one line each.
std::vector<std::string> compare_flows(const std::map<std::string, std::uint64_t>& expected,
                                       const std::vector<flow_counts>& sinks);

}  // namespace loadgen
