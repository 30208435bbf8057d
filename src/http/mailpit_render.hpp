// The Mailpit-compatible API's JSON documents (Boost.JSON), with Mailpit's field names, in the order Mailpit
// writes them: a message summary, the list and search answer around summaries, a message, its headers, the
// instance's info. Strings are made valid UTF-8 (http::utf8_text); times are RFC 3339 in UTC with milliseconds.
#pragma once
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "http/mailpit_summary.hpp"
#include "inspect/message.hpp"
#include "sink/capture.hpp"

namespace http::mailpit {

// MessageSummary, as in Mailpit's list and search.
boost::json::object summary_json(const sink::captured_message& m, const summary& s, bool read);

// MessagesSummary: counts over the mailbox (total, unread, tags) and over the query's matches, the page's
// offset and its summaries.
struct list_counts {
    std::uint64_t total = 0, unread = 0, matched = 0, matched_unread = 0, start = 0;
    std::vector<std::string> tags;  // every flow in the mailbox, sorted
};
boost::json::object list_json(const list_counts& c, boost::json::array messages);

// Message: the summary's addresses and the parsed view's bodies and parts (Inline and Attachments).
boost::json::object message_json(const sink::captured_message& m, const inspect::message_view& v, const summary& s);

// A header field name as Go's textproto writes it ("message-id" is "Message-Id"); a name with a byte that is not
// a token character (RFC 7230 3.2.6) stays as it is.
std::string canonical_key(std::string_view name);
// The header fields as Mailpit answers them: {"Canonical-Name": ["value", ...]}, names sorted, values unfolded
// and in order.
boost::json::object headers_json(std::string_view raw);

// AppInformation: the version, the mailbox's counts and tags, and the runtime statistics.
struct info {
    std::uint64_t messages = 0, unread = 0, bytes = 0;
    std::vector<std::pair<std::string, std::uint64_t>> tags;  // flow, messages in the mailbox
    std::uint64_t uptime_s = 0, memory = 0, deleted = 0, accepted = 0, accepted_bytes = 0, rejected = 0;
};
boost::json::object info_json(const info& i);

}  // namespace http::mailpit
