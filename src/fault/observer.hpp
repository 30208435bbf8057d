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
    connection_observer(sink::hub& h, table& t, std::size_t thread, std::string client, std::uint64_t session_id);
    smtp::verdict on_stage(const smtp::stage_event& e) noexcept override;

private:
    bool matches(const rule& r, const smtp::stage_event& e);
    bool fires(entry& en);
    void count(const rule& r, const smtp::stage_event& e);
    // The flow of the message as far as it is known at this event (named once per event).
    const std::string& flow(const smtp::stage_event& e);

    // The generator, seeded at its first draw (most connections never draw).
    random& generator() noexcept;

    table& table_;
    std::uint64_t version_ = 0;              // of rules_: the table's version when it was taken
    std::shared_ptr<const snapshot> rules_;  // null until the table first changes
    std::uint64_t session_id_;
    bool seeded_ = false;
    random random_{0};
    std::string flow_, scratch_;
    bool flow_named_ = false;
};

}  // namespace fault
