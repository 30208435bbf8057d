// Searching the capture ring: filters that combine with AND (flow, recipient, sender, subject, free text), newest
// first, paged by id. Text filters are case-insensitive substrings of the decoded fields (summary.hpp's keys),
// so a search parses each message at most once in its life in the ring.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "inspect/summary.hpp"
#include "sink/capture.hpp"

namespace inspect {

struct query {
    std::string flow;     // the flow's exact name; "" for every flow
    std::string rcpt;     // an envelope recipient or a To or Cc address
    std::string from;     // the envelope sender or a From address
    std::string subject;  // the decoded subject
    std::string text;     // any of those, a display name, a Reply-To address or the text part
    std::size_t limit = 50;
    std::uint64_t before = UINT64_MAX;  // only ids below this
};

struct hit {
    std::shared_ptr<const sink::captured_message> message;
    std::shared_ptr<const summary> info;
};

// The messages in `ring` that match every filter of `q`, newest first, at most q.limit of them.
std::vector<hit> search(sink::capture_ring& ring, const query& q);

}  // namespace inspect
