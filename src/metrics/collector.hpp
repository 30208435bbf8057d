// Prometheus exposition: a prometheus-cpp Registry for what is fixed at start (build info), and a Collectable
// that reads the sink's per-thread counters, flow table and capture ring, and the fault table's tally of
// injected faults, at scrape time. Nothing here runs on
// the SMTP path: the workers only ever write their own plain counters.
#pragma once
#include <functional>
#include <memory>
#include <prometheus/collectable.h>
#include <prometheus/registry.h>
#include <string>

#include "fault/table.hpp"
#include "sink/sink.hpp"

namespace metrics {

class sink_collector final : public prometheus::Collectable {
public:
    sink_collector(const sink::hub& h, const fault::table& faults, std::function<std::uint64_t()> active_connections);
    std::vector<prometheus::MetricFamily> Collect() const override;

private:
    const sink::hub& h_;
    const fault::table& faults_;
    std::function<std::uint64_t()> active_;
};

class exposition {
public:
    exposition(const sink::hub& h, const fault::table& faults, std::function<std::uint64_t()> active_connections,
               std::string version);
    // The text format (version 0.0.4) of every metric.
    std::string text() const;

private:
    prometheus::Registry registry_;
    sink_collector collector_;
};

}  // namespace metrics
