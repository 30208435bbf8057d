// The API's JSON documents. See render.hpp.
#include "http/render.hpp"

#include <boost/json/serialize.hpp>
#include <boost/locale/utf.hpp>

#include "sink/clock.hpp"
#include "sink/header.hpp"

namespace http {

boost::json::string utf8_text(std::string_view bytes) {
    using utf8 = boost::locale::utf::utf_traits<char>;
    constexpr std::string_view replacement = "\xef\xbf\xbd";  // U+FFFD
    boost::json::string out;
    out.reserve(bytes.size());
    const char* p = bytes.data();
    const char* const end = p + bytes.size();
    while (p != end) {
        const char* start = p;
        auto c = utf8::decode(p, end);
        if (c == boost::locale::utf::illegal || c == boost::locale::utf::incomplete) {
            out.append(replacement);
            p = start + 1;  // one replacement per byte, then look again from the next one
        } else {
            out.append(std::string_view(start, std::size_t(p - start)));
        }
    }
    return out;
}

boost::json::value time_value(std::int64_t unix_ms) {
    if (unix_ms == 0) return nullptr;
    return boost::json::string(sink::rfc3339_ms(unix_ms));
}

boost::json::object flow_object(const sink::flow_view& f) {
    boost::json::object by_code;
    for (const auto& [code, n] : f.refused_by_code) by_code[std::to_string(code)] = n;
    boost::json::object o;
    o["flow"] = utf8_text(f.name);
    o["seen"] = f.seen;
    o["messages"] = f.messages;
    o["recipients"] = f.recipients;
    o["bytes"] = f.bytes;
    o["refused"] = f.refused;
    o["refused_by_code"] = std::move(by_code);
    boost::json::object faults;
    for (const auto& [what, n] : f.faults) faults[what] = n;
    o["faults"] = std::move(faults);
    o["first_seen"] = time_value(f.first_seen_ms);
    o["last_seen"] = time_value(f.last_seen_ms);
    return o;
}

namespace {

// "" as null, any other text as a JSON string.
boost::json::value text_or_null(std::string_view s) {
    return s.empty() ? boost::json::value(nullptr) : boost::json::value(utf8_text(s));
}

boost::json::object address_object(const inspect::address& a) {
    return {{"name", utf8_text(a.name)}, {"address", utf8_text(a.address)}};
}

boost::json::value address_value(const std::optional<inspect::address>& a) {
    return a ? boost::json::value(address_object(*a)) : boost::json::value(nullptr);
}

boost::json::array address_list(const std::vector<inspect::address>& list) {
    boost::json::array out;
    for (const auto& a : list) out.push_back(address_object(a));
    return out;
}

boost::json::object part_object(const inspect::part_info& p) {
    return {{"id", text_or_null(p.id)},
            {"content_type", text_or_null(p.content_type)},
            {"charset", text_or_null(p.charset)},
            {"transfer_encoding", text_or_null(p.transfer_encoding)},
            {"size", p.size},
            {"filename", text_or_null(p.filename)},
            {"disposition", text_or_null(p.disposition)},
            {"content_id", text_or_null(p.content_id)},
            {"attachment", p.attachment}};
}

// The fields of MSG; the decoded ones given by the caller.
boost::json::object message_fields(const sink::captured_message& m, std::string_view subject,
                                   const std::optional<inspect::address>& from, std::size_t attachments) {
    boost::json::array rcpt_to;
    for (const auto& r : m.rcpt_to) rcpt_to.push_back(utf8_text(r));
    boost::json::object o;
    o["id"] = m.id;
    o["received_at"] = time_value(m.received_ms);
    o["flow"] = utf8_text(m.flow);
    o["mail_from"] = utf8_text(m.mail_from);
    o["rcpt_to"] = std::move(rcpt_to);
    o["size"] = m.size;
    o["subject"] = utf8_text(subject);
    o["client"] = utf8_text(m.client);
    o["helo"] = utf8_text(m.helo);
    o["tls"] = m.tls.empty() ? boost::json::value(nullptr) : boost::json::value(utf8_text(m.tls));
    o["truncated"] = m.truncated;
    o["from"] = address_value(from);
    o["attachments"] = std::uint64_t(attachments);
    return o;
}

}  // namespace

boost::json::object message_object(const sink::captured_message& m, const inspect::summary& s) {
    return message_fields(m, s.subject, s.from, s.attachments);
}

boost::json::object message_detail(const sink::captured_message& m, const inspect::message_view& v) {
    auto o = message_fields(m, v.subject, v.from, v.attachments);
    boost::json::array headers;
    for (const auto& [name, value] : sink::header_fields(m.raw))
        headers.push_back(boost::json::object{{"name", utf8_text(name)}, {"value", utf8_text(value)}});
    o["headers"] = std::move(headers);
    o["to"] = address_list(v.to);
    o["cc"] = address_list(v.cc);
    o["reply_to"] = address_list(v.reply_to);
    o["date"] = v.date_ms ? boost::json::value(boost::json::string(sink::rfc3339_ms(*v.date_ms)))
                          : boost::json::value(nullptr);
    o["message_id"] = text_or_null(v.message_id);
    o["text"] = utf8_text(v.text);
    o["html"] = utf8_text(v.html);
    boost::json::array parts;
    for (const auto& p : v.parts) parts.push_back(part_object(p));
    o["parts"] = std::move(parts);
    return o;
}

std::string flow_json(const sink::flow_view& f) { return boost::json::serialize(flow_object(f)); }

}  // namespace http
