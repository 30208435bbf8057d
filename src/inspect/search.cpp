// Searching the capture ring. See search.hpp. The ring is read in pages, so its lock is held only to copy a
// page of pointers, and the parsing (at most once per message) happens outside it.
#include "inspect/search.hpp"

#include <algorithm>

namespace inspect {
namespace {

// Messages taken from the ring at a time when filters may drop some.
constexpr std::size_t page_size = 256;

struct filters {
    std::string rcpt, from, subject, text;  // folded
};

bool any_has(const std::vector<std::string>& keys, std::string_view needle) {
    auto has = [&](const std::string& k) { return k.find(needle) != std::string::npos; };
    return needle.empty() || std::any_of(keys.begin(), keys.end(), has);
}

bool matches(const filters& f, const summary& s) {
    if (s.subject_key.find(f.subject) == std::string::npos) return false;
    if (!any_has(s.sender_keys, f.from) || !any_has(s.recipient_keys, f.rcpt)) return false;
    if (f.text.empty()) return true;
    return s.subject_key.find(f.text) != std::string::npos || any_has(s.sender_keys, f.text) ||
           any_has(s.recipient_keys, f.text) || any_has(s.other_keys, f.text);
}

}  // namespace

std::vector<hit> search(sink::capture_ring& ring, const query& q) {
    const filters f{fold(q.rcpt), fold(q.from), fold(q.subject), fold(q.text)};
    const bool filtered = !(f.rcpt.empty() && f.from.empty() && f.subject.empty() && f.text.empty());
    const std::size_t page = filtered ? std::max(q.limit, page_size) : q.limit;
    std::vector<hit> out;
    for (auto before = q.before; out.size() < q.limit;) {
        auto messages = ring.list(q.flow, page, before);
        for (auto& m : messages) {
            before = m->id;
            auto s = summarize(ring, *m);
            if (matches(f, *s)) out.push_back({std::move(m), std::move(s)});
            if (out.size() == q.limit) break;
        }
        if (messages.size() < page) break;
    }
    return out;
}

}  // namespace inspect
