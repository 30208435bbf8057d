// The MIME tree of a parsed message. See tree.hpp. The walk keeps its own stack, so a deeply nested message
// costs heap, not the HTTP thread's stack.
#include "inspect/tree.hpp"

#include <utility>

namespace inspect::detail {
namespace {

// The file name a part gives: GMime's (Content-Disposition filename, else Content-Type name) for a leaf part;
// the same two parameters for a message/rfc822 part, which GMime does not treat as a GMimePart.
std::string filename_of(GMimeObject* o) {
    if (GMIME_IS_PART(o)) return std::string(gm::text(g_mime_part_get_filename(GMIME_PART(o))));
    if (GMimeContentDisposition* d = g_mime_object_get_content_disposition(o))
        if (const char* f = g_mime_content_disposition_get_parameter(d, "filename")) return f;
    return std::string(gm::text(g_mime_object_get_content_type_parameter(o, "name")));
}

// What a mail client lists as an attachment: a leaf part said to be one, or one with a file name (or a whole
// message) that is not said to be inline.
bool is_attachment(const part_info& p, bool container) {
    if (container || p.disposition == "inline") return false;
    return p.disposition == "attachment" || !p.filename.empty() || p.content_type == "message/rfc822";
}

part_info describe(GMimeObject* o, std::string id, bool container) {
    part_info p;
    p.id = std::move(id);
    if (GMimeContentType* ct = g_mime_object_get_content_type(o)) {
        gm::string type(g_mime_content_type_get_mime_type(ct));
        p.content_type = gm::lower(gm::text(type.get()));
        p.charset = gm::lower(gm::text(g_mime_content_type_get_parameter(ct, "charset")));
    }
    if (GMIME_IS_PART(o)) {
        auto encoding = g_mime_part_get_content_encoding(GMIME_PART(o));
        p.transfer_encoding = gm::text(g_mime_content_encoding_to_string(encoding));
    }
    if (GMimeContentDisposition* d = g_mime_object_get_content_disposition(o))
        p.disposition = gm::lower(gm::text(g_mime_content_disposition_get_disposition(d)));
    p.filename = filename_of(o);
    p.content_id = gm::text(g_mime_object_get_content_id(o));
    p.attachment = is_attachment(p, container);
    return p;
}

// The section number of the `index`th (from 0) child of the node numbered `parent`.
std::string child_id(const std::string& parent, int index) {
    auto n = std::to_string(index + 1);
    return parent.empty() ? n : parent + "." + n;
}

}  // namespace

std::vector<node> tree(GMimeMessage* m) {
    std::vector<node> out;
    GMimeObject* root = g_mime_message_get_mime_part(m);
    if (!root) return out;
    // The body of a message that is not multipart is section 1; a top-level multipart has no number ("").
    std::vector<std::pair<GMimeObject*, std::string>> stack{{root, GMIME_IS_MULTIPART(root) ? "" : "1"}};
    while (!stack.empty()) {
        auto [o, id] = std::move(stack.back());
        stack.pop_back();
        bool container = GMIME_IS_MULTIPART(o);
        out.push_back({o, describe(o, id, container)});
        if (!container) continue;
        auto* mp = GMIME_MULTIPART(o);
        for (int i = g_mime_multipart_get_count(mp) - 1; i >= 0; --i)  // pushed backwards: popped in order
            stack.emplace_back(g_mime_multipart_get_part(mp, i), child_id(id, i));
    }
    return out;
}

bool is_container(const node& n) { return GMIME_IS_MULTIPART(n.object); }

bool is_body(const node& n, std::string_view type) {
    return n.info.content_type == type && !n.info.attachment && GMIME_IS_PART(n.object);
}

}  // namespace inspect::detail
