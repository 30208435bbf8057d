// Message inspection with GMime 3: decoded header fields, the text and HTML bodies, the MIME tree and one part's
// content. See message.hpp. Every MIME rule (RFC 2045-2047, 2183, 2231, 5322 addresses and dates) is GMime's.
#include "inspect/message.hpp"

#include "inspect/gmime.hpp"
#include "inspect/tree.hpp"

namespace inspect {
namespace {

// Appends the mailboxes of `list` to `out`; a group (RFC 5322 3.4) as its name with no address, then its members.
void add_addresses(InternetAddressList* list, std::vector<address>& out) {
    if (!list) return;
    for (int i = 0, n = internet_address_list_length(list); i < n; ++i) {
        InternetAddress* a = internet_address_list_get_address(list, i);
        std::string name(gm::text(internet_address_get_name(a)));
        if (INTERNET_ADDRESS_IS_MAILBOX(a)) {
            out.push_back({std::move(name), std::string(gm::text(internet_address_mailbox_get_addr(
                                                INTERNET_ADDRESS_MAILBOX(a))))});
        } else if (INTERNET_ADDRESS_IS_GROUP(a)) {
            out.push_back({std::move(name), {}});
            add_addresses(internet_address_group_get_members(INTERNET_ADDRESS_GROUP(a)), out);
        }
    }
}

std::vector<address> addresses(GMimeMessage* m, GMimeAddressType type) {
    std::vector<address> out;
    add_addresses(g_mime_message_get_addresses(m, type), out);
    return out;
}

// The header fields of `v`: subject, addresses, date, Message-ID.
void read_fields(GMimeMessage* m, message_view& v) {
    v.subject = gm::text(g_mime_message_get_subject(m));
    for (auto& a : addresses(m, GMIME_ADDRESS_TYPE_FROM))
        if (!a.address.empty()) {
            v.from = std::move(a);
            break;
        }
    v.to = addresses(m, GMIME_ADDRESS_TYPE_TO);
    v.cc = addresses(m, GMIME_ADDRESS_TYPE_CC);
    v.reply_to = addresses(m, GMIME_ADDRESS_TYPE_REPLY_TO);
    if (GDateTime* d = g_mime_message_get_date(m))
        v.date_ms = g_date_time_to_unix(d) * 1000 + g_date_time_get_microsecond(d) / 1000;
    v.message_id = gm::text(g_mime_message_get_message_id(m));
}

}  // namespace

message_view parse(std::string_view raw, depth d) {
    message_view v;
    auto m = gm::parse_message(raw);
    if (!m) return v;
    read_fields(m.get(), v);
    bool have_text = false, have_html = d == depth::summary;
    for (auto& n : detail::tree(m.get())) {
        if (d == depth::whole && !detail::is_container(n)) n.info.size = gm::content_size(n.object);
        if (n.info.attachment) ++v.attachments;
        if (!have_text && detail::is_body(n, "text/plain")) {
            v.text = gm::content_utf8(GMIME_PART(n.object));
            have_text = true;
        } else if (!have_html && detail::is_body(n, "text/html")) {
            v.html = gm::content_utf8(GMIME_PART(n.object));
            have_html = true;
        }
        v.parts.push_back(std::move(n.info));
    }
    return v;
}

std::optional<part_content> part(std::string_view raw, std::string_view id) {
    auto m = gm::parse_message(raw);
    if (!m) return std::nullopt;
    for (auto& n : detail::tree(m.get())) {
        if (n.info.id != id || detail::is_container(n)) continue;
        part_content c{std::move(n.info), gm::content_bytes(n.object)};
        c.info.size = c.data.size();
        return c;
    }
    return std::nullopt;
}

}  // namespace inspect
