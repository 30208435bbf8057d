// The Mailpit-compatible API's JSON documents. See mailpit_render.hpp.
#include "http/mailpit_render.hpp"

#include <algorithm>
#include <map>

#include "http/render.hpp"
#include "sink/header.hpp"
#include "smtp/ascii.hpp"

namespace http::mailpit {
namespace {

boost::json::object address_json(const inspect::address& a) {
    return {{"Name", utf8_text(a.name)}, {"Address", utf8_text(a.address)}};
}

boost::json::array addresses_json(const std::vector<inspect::address>& list) {
    boost::json::array out;
    for (const auto& a : list) out.push_back(address_json(a));
    return out;
}

boost::json::array tags_json(const sink::captured_message& m) { return {utf8_text(m.flow)}; }

// The two fields every message document opens with.
void put_ids(boost::json::object& o, const sink::captured_message& m, const summary& s) {
    o["ID"] = std::to_string(m.id);
    o["MessageID"] = utf8_text(s.message_id);
}

void put_addresses(boost::json::object& o, const summary& s) {
    o["From"] = address_json(s.from);
    o["To"] = addresses_json(s.to);
    o["Cc"] = addresses_json(s.cc);
    o["Bcc"] = addresses_json(s.bcc);
    o["ReplyTo"] = addresses_json(s.reply_to);
}

// Attachment: Mailpit names a part without a file name by its Content-ID.
boost::json::object part_json(const inspect::part_info& p) {
    return {{"PartID", p.id},
            {"FileName", utf8_text(p.filename.empty() ? p.content_id : p.filename)},
            {"ContentType", utf8_text(p.content_type)},
            {"ContentID", utf8_text(p.content_id)},
            {"Size", p.size}};
}

// ListUnsubscribe: the List-Unsubscribe field (RFC 2369), its <links>, and List-Unsubscribe-Post (RFC 8058).
boost::json::object list_unsubscribe_json(std::string_view raw) {
    std::string scratch, post_scratch;
    auto header = sink::header_value(raw, "List-Unsubscribe", scratch);
    boost::json::array links;
    for (auto open = header.find('<'); open != std::string_view::npos; open = header.find('<', open + 1)) {
        auto close = header.find('>', open);
        if (close == std::string_view::npos) break;
        links.push_back(utf8_text(smtp::ascii::trim(header.substr(open + 1, close - open - 1))));
    }
    return {{"Header", utf8_text(header)},
            {"Links", std::move(links)},
            {"Errors", ""},
            {"HeaderPost", utf8_text(sink::header_value(raw, "List-Unsubscribe-Post", post_scratch))}};
}

// Return-Path: the field if the message has one, else the envelope's MAIL FROM, which is what a delivering
// MTA would write there.
std::string return_path(const sink::captured_message& m) {
    std::string scratch;
    auto field = smtp::ascii::trim(sink::header_value(m.raw.view(), "Return-Path", scratch));
    if (field.size() >= 2 && field.front() == '<' && field.back() == '>') field = field.substr(1, field.size() - 2);
    return std::string(field.empty() ? std::string_view(m.mail_from) : field);
}

constexpr bool is_token(char c) {
    return smtp::ascii::is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

}  // namespace

boost::json::object summary_json(const sink::captured_message& m, const summary& s, bool read) {
    boost::json::object o;
    put_ids(o, m, s);
    o["Read"] = read;
    put_addresses(o, s);
    o["Subject"] = utf8_text(s.subject);
    o["Created"] = time_value(m.received_ms);
    o["Username"] = "";
    o["Tags"] = tags_json(m);
    o["Size"] = m.size;
    o["Attachments"] = s.attachments;
    o["Snippet"] = utf8_text(s.snippet);
    return o;
}

boost::json::object list_json(const list_counts& c, boost::json::array messages) {
    boost::json::array tags;
    for (const auto& t : c.tags) tags.push_back(utf8_text(t));
    return {{"total", c.total},
            {"unread", c.unread},
            {"count", messages.size()},
            {"messages_count", c.matched},
            {"messages_unread", c.matched_unread},
            {"start", c.start},
            {"tags", std::move(tags)},
            {"messages", std::move(messages)}};
}

boost::json::object message_json(const sink::captured_message& m, const inspect::message_view& v, const summary& s) {
    boost::json::object o;
    put_ids(o, m, s);
    put_addresses(o, s);
    o["ReturnPath"] = utf8_text(return_path(m));
    o["Subject"] = utf8_text(s.subject);
    o["ListUnsubscribe"] = list_unsubscribe_json(m.raw.view());
    o["Date"] = time_value(v.date_ms.value_or(m.received_ms));
    o["Tags"] = tags_json(m);
    o["Username"] = "";
    o["Text"] = utf8_text(v.text);
    o["HTML"] = utf8_text(v.html);
    o["Size"] = m.size;
    boost::json::array inlines, attachments;
    for (const auto& p : v.parts) {
        auto r = role(p);
        if (r == part_role::inline_part) inlines.push_back(part_json(p));
        if (r == part_role::attachment) attachments.push_back(part_json(p));
    }
    o["Inline"] = std::move(inlines);
    o["Attachments"] = std::move(attachments);
    return o;
}

std::string canonical_key(std::string_view name) {
    std::string out(name);
    if (out.empty() || !std::all_of(out.begin(), out.end(), is_token)) return out;
    bool upper = true;
    for (auto& c : out) {
        c = upper && c >= 'a' && c <= 'z' ? char(c - 'a' + 'A') : (upper ? c : smtp::ascii::lower(c));
        upper = c == '-';
    }
    return out;
}

boost::json::object headers_json(std::string_view raw) {
    std::map<std::string, boost::json::array> fields;  // sorted by name, as Go writes a map
    for (const auto& f : sink::header_fields(raw)) fields[canonical_key(f.name)].push_back(utf8_text(f.value));
    boost::json::object o;
    for (auto& [name, values] : fields) o[utf8_text(name)] = std::move(values);
    return o;
}

boost::json::object info_json(const info& i) {
    boost::json::object tags;
    for (const auto& [flow, n] : i.tags) tags[utf8_text(flow)] = n;
    return {{"Version", SMTP_BLACKHOLE_VERSION},
            {"LatestVersion", "disabled"},
            {"Database", ""},
            {"DatabaseSize", i.bytes},
            {"Messages", i.messages},
            {"Unread", i.unread},
            {"Tags", std::move(tags)},
            {"RuntimeStats", {{"Uptime", i.uptime_s},
                              {"Memory", i.memory},
                              {"MessagesDeleted", i.deleted},
                              {"SMTPAccepted", i.accepted},
                              {"SMTPAcceptedSize", i.accepted_bytes},
                              {"SMTPRejected", i.rejected},
                              {"SMTPIgnored", 0}}}};
}

}  // namespace http::mailpit
