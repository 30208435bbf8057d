// Fault rules as JSON. See fault_json.hpp.
#include "http/fault_json.hpp"

#include <boost/json/parse.hpp>
#include <charconv>

namespace http {
namespace {

// A JSON value as the flag would write it.
std::string value_text(const std::string& key, const boost::json::value& v) {
    switch (v.kind()) {
    case boost::json::kind::string: return std::string(v.get_string());
    case boost::json::kind::int64: return std::to_string(v.get_int64());
    case boost::json::kind::uint64: return std::to_string(v.get_uint64());
    case boost::json::kind::double_: {
        char buf[32];
        auto r = std::to_chars(buf, buf + sizeof buf, v.get_double());  // the shortest form that reads back
        return std::string(buf, r.ptr);
    }
    case boost::json::kind::bool_: return v.get_bool() ? "true" : "false";
    default: throw fault::rule_error(key, "must be a string, a number or true/false");
    }
}

fault::rule rule_from_json(const boost::json::value& v) {
    if (!v.is_object()) throw fault::rule_error("", "a rule must be a JSON object of keys and values");
    fault::key_values kv;
    for (const auto& [key, value] : v.get_object()) {
        std::string k(key);
        kv.emplace_back(k, value_text(k, value));
    }
    return fault::validate(kv);
}

}  // namespace

std::vector<fault::rule> rules_from_json(std::string_view body) {
    boost::system::error_code ec;
    auto doc = boost::json::parse(body, ec);
    if (ec) throw fault::rule_error("", "the body is not JSON: " + ec.message());
    std::vector<fault::rule> out;
    if (!doc.is_array()) {
        out.push_back(rule_from_json(doc));
        return out;
    }
    const auto& list = doc.get_array();
    if (list.empty()) throw fault::rule_error("", "an empty list: give at least one rule");
    for (std::size_t i = 0; i < list.size(); ++i) {
        try {
            out.push_back(rule_from_json(list[i]));
        } catch (const fault::rule_error& e) {
            throw e.in_list(i + 1, list.size());
        }
    }
    return out;
}

boost::json::object fault_object(const fault::entry& e, const sink::flow_key& key) {
    const auto& r = e.r;
    boost::json::object rule;
    rule["stage"] = smtp::stage_name(r.stage);
    rule["action"] = fault::action_name(r.act);
    if (r.code) rule["code"] = r.code;
    if (!r.text.empty()) rule["text"] = r.text;
    if (r.act == fault::action::delay) rule["delay"] = r.delay_text();
    if (r.act == fault::action::disconnect) rule["reset"] = r.reset;
    if (!r.flow.empty()) rule["flow"] = r.flow;
    if (!r.rcpt.empty()) rule["rcpt"] = r.rcpt;
    if (!r.mail_from.empty()) rule["mail_from"] = r.mail_from;
    if (r.has_probability) rule["probability"] = r.probability;
    if (r.first) rule["first"] = r.first;
    if (r.every) rule["every"] = r.every;
    if (r.times) rule["times"] = r.times;
    auto note = fault::flow_note(r, key);
    boost::json::object o;
    o["id"] = e.id;
    o["rule"] = std::move(rule);
    o["seen"] = e.seen.load(std::memory_order_relaxed);
    o["fired"] = e.fired.load(std::memory_order_relaxed);
    o["note"] = note.empty() ? boost::json::value(nullptr) : boost::json::value(note);
    return o;
}

}  // namespace http
