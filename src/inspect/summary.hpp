// What the message list and the search need of a captured message: its decoded subject and sender, its number
// of attachments, and case-folded search keys. Parsed once per message (GMime, depth::summary) and kept with the
// message (sink::derived_data, counted in the ring's bytes), so listing the ring again parses nothing and the
// summary leaves with the message.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "inspect/message.hpp"
#include "sink/capture.hpp"

namespace inspect {

struct summary final : sink::derived_data {
    std::string subject;  // decoded
    std::optional<address> from;
    std::size_t attachments = 0;
    // Search keys, each fold()ed.
    std::string subject_key;
    std::vector<std::string> sender_keys;     // the envelope sender, the From addresses
    std::vector<std::string> recipient_keys;  // the envelope recipients, the To and Cc addresses
    std::vector<std::string> other_keys;      // display names, Reply-To addresses, the text part

    std::uint64_t bytes() const noexcept override;
};

// The summary of `m`: the one kept with it, or parsed now and offered to `ring` to keep (sink::derived_of).
std::shared_ptr<const summary> summarize(sink::capture_ring& ring, const sink::captured_message& m);

// The heap memory a string or a list of strings holds beyond its own object, for derived_data::bytes().
std::uint64_t heap_bytes(const std::string& s) noexcept;
std::uint64_t heap_bytes(const std::vector<std::string>& v) noexcept;

// `s` made valid UTF-8 and case-folded (GLib's Unicode case folding), for case-insensitive matching.
std::string fold(std::string_view s);

}  // namespace inspect
