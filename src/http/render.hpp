// The API's JSON documents (Boost.JSON): flows and captured messages (decoded by src/inspect/). Strings are made
// valid UTF-8 first (a byte that does not start a valid UTF-8 sequence, as mail headers may hold, becomes U+FFFD),
// since Boost.JSON writes a string's bytes as given; times are RFC 3339 strings (sink/clock), null when never seen.
#pragma once
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "inspect/message.hpp"
#include "inspect/summary.hpp"
#include "sink/capture.hpp"
#include "sink/flow_table.hpp"

namespace http {

// `bytes` as a JSON string: valid UTF-8 kept, every other byte U+FFFD.
boost::json::string utf8_text(std::string_view bytes);
// Unix milliseconds as an RFC 3339 string, or null for 0.
boost::json::value time_value(std::int64_t unix_ms);

// FLOW in the README: counts, refusals by code, injected faults, first and last seen.
boost::json::object flow_object(const sink::flow_view& f);
// MSG in the README: what the capture knows, and from the message's summary its decoded subject, its sender
// ("from") and its number of attachments.
boost::json::object message_object(const sink::captured_message& m, const inspect::summary& s);
// MSG with the header fields in order (unfolded) and the decoded message `v`: addresses, date, Message-ID, the
// text and HTML bodies and the MIME tree ("parts").
boost::json::object message_detail(const sink::captured_message& m, const inspect::message_view& v);

// FLOW as text (the body of GET /api/v1/flows/{flow} and of a wait's answer).
std::string flow_json(const sink::flow_view& f);

}  // namespace http
