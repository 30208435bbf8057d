// Wall-clock time for the sink and everything above it: Unix milliseconds, and their RFC 3339 text (UTC, with
// milliseconds) as the API's JSON and the log lines show it. The only place that formats a time.
#pragma once
#include <cstdint>
#include <string>

namespace sink {

// Unix time in milliseconds, for first/last seen, capture times and log lines.
std::int64_t now_ms() noexcept;

// Unix milliseconds as RFC 3339 in UTC with milliseconds: "2026-11-23T20:25:51.356Z".
std::string rfc3339_ms(std::int64_t unix_ms);

}  // namespace sink
