// What happens to accepted mail: the process-wide sink (flow key, flow table, capture ring, counters) and the
// per-connection observer that feeds it. The protocol engine knows only smtp::observer; everything done with
// mail (counting, flows, sampling, capture) happens here.
#pragma once
#include <cstdint>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include "sink/capture.hpp"
#include "sink/clock.hpp"
#include "sink/counters.hpp"
#include "sink/flow_key.hpp"
#include "sink/flow_table.hpp"
#include "smtp/observer.hpp"

namespace sink {

struct options {
    std::string flow_key = "header:X-Flow,rcpt-tag";
    std::size_t max_flows = 10000;
    std::size_t capture_messages = 1000;
    std::uint64_t capture_bytes = 64ull << 20;
    std::uint64_t capture_max_message = 1ull << 20;
    double sample_rate = 1.0;
    std::size_t sample_first_per_flow = 1;
};

// Shared by every connection of every worker.
class hub {
public:
    hub(const options& o, std::size_t threads);
    const options opts;
    const flow_key key;
    flow_table flows;
    capture_ring ring;
    counter_set counters;
    // Whether anything can ever be captured (else bodies are never copied).
    bool capturing() const noexcept { return opts.sample_rate > 0 || opts.sample_first_per_flow > 0; }

    // Per worker thread: the sampler's random generator and what it knows of full first-per-flow quotas.
    struct thread_state {
        std::minstd_rand rng;
        std::unordered_set<std::string> quota_full;
        std::uint64_t quota_epoch = 0;
    };
    thread_state& state(std::size_t thread) noexcept { return states_[thread]; }

private:
    std::vector<thread_state> states_;
};

// The observer of one SMTP session: names the flow, counts exactly, samples into the capture ring. (fault/
// extends it with the verdicts of fault rules.)
class connection_sink : public smtp::observer {
public:
    connection_sink(hub& h, std::size_t thread, std::string&& client);
    ~connection_sink() override;
    connection_sink(const connection_sink&) = delete;
    connection_sink& operator=(const connection_sink&) = delete;
    bool on_header(const smtp::envelope& env, std::string_view header, bool truncated) noexcept override;
    void on_body(std::string_view s) noexcept override;
    void on_message(const smtp::message_info& m) noexcept override;
    void on_refusal(const smtp::envelope& env, std::string_view header, unsigned short code) noexcept override;
    void on_reply(unsigned short code) noexcept override;
    void on_transaction_end() noexcept override;
    // The client as a PROXY header names it, in place of the socket's peer given at construction: set before
    // the session opens, so every message of the connection carries it.
    void set_client(std::string&& client) noexcept { client_ = std::move(client); }

protected:
    hub& owner() noexcept { return h_; }
    flow_table::local& flows() noexcept { return flows_; }

private:
    // Body room a capture starts with when the client declared no SIZE: most test mail fits, and what is not
    // used is given back when the message is complete.
    static constexpr std::uint64_t first_body_room = 8 * 1024;
    bool grow(std::uint64_t need, std::uint64_t want) noexcept;
    void drop_capture() noexcept;
    void name_flow(const smtp::envelope& env, std::string_view header);  // into name_
    bool sample();

    hub& h_;
    thread_counters& c_;
    flow_table::local& flows_;
    hub::thread_state& ts_;
    std::string client_;
    std::string name_, scratch_;  // the current message's flow name, reused buffers
    bool capturing_ = false;
    bool truncated_ = false;
    byte_buffer raw_;          // the message being captured
    std::uint64_t held_ = 0;   // raw_'s capacity, taken from the ring's in-flight budget
    std::uint64_t limit_ = 0;  // what raw_ may grow to: the header section, and the body up to --capture-max-message
};

}  // namespace sink
