// Fault rules as JSON (Boost.JSON): a POSTed rule, or a list of them, turned into the key=value pairs of the
// --fault flag and checked by fault's one validator (so a bad rule gets the flag's message, naming the key), and
// the rules as GET /api/v1/faults shows them.
#pragma once
#include <boost/json/object.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "fault/table.hpp"
#include "sink/flow_key.hpp"

namespace http {

// The rules of a POST body: one JSON object, or a list of at least one. Throws fault::rule_error (a value that is
// not a string, a number or true/false is an error of its key; in a list the message says which rule).
std::vector<fault::rule> rules_from_json(std::string_view body);

// FAULT: {"id", "rule": {the keys that say something, typed}, "seen", "fired", "note": why a flow may not match
// before stage message, or null}.
boost::json::object fault_object(const fault::entry& e, const sink::flow_key& key);

}  // namespace http
