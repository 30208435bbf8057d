// The observer of one SMTP session with fault rules: the sink's observer (counting, flows, capture) that also
// answers the session's question at each stage (observer::on_stage) from the rule table. Rules are asked in
// order; the first that fires decides, and the ones after it are not asked about that event. A fired fault is
// counted per flow ("rcpt:451", "message:disconnect") and in the table's tally (the metric).
#pragma once
#include <memory>
#include <string>

#include "fault/random.hpp"
#include "fault/table.hpp"
#include "sink/sink.hpp"

namespace fault {

class connection_observer final : public sink::connection_sink {
public:
    connection_observer(sink::hub& h, table& t, std::size_t thread, std::string&& client, std::uint64_t session_id);
    smtp::verdict on_stage(const smtp::stage_event& e) noexcept override;

private:
    bool matches(const rule& r, const smtp::stage_event& e);
    bool fires(entry& en);
    void count(const rule& r, const smtp::stage_event& e);
    // The flow of the message as far as it is known at this event (named once per event).
    const std::string& flow(const smtp::stage_event& e);

    // What a connection keeps to answer: made the first time it is asked (never while there is no rule), so that a
    // connection that meets no rule carries one pointer of it.
    struct state {
        explicit state(std::uint64_t seed) : generator(seed) {}
        std::uint64_t version = 0;              // of rules: the table's version when they were taken
        std::shared_ptr<const snapshot> rules;  // never null
        random generator;
        std::string flow, scratch;
        bool flow_named = false;
    };

    table& table_;
    const std::uint64_t session_id_;
    std::unique_ptr<state> state_;
};

}  // namespace fault
