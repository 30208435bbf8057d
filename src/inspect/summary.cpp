// Summaries of captured messages, kept with them. See summary.hpp.
#include "inspect/summary.hpp"

#include "inspect/gmime.hpp"

namespace inspect {
namespace {

std::shared_ptr<const summary> make_summary(const sink::captured_message& m) {
    auto v = parse(m.raw.view(), depth::summary);
    auto s = std::make_shared<summary>();
    s->subject = std::move(v.subject);
    s->from = v.from;
    s->attachments = v.attachments;
    s->subject_key = fold(s->subject);
    s->sender_keys.push_back(fold(m.mail_from));
    s->recipient_keys.reserve(m.rcpt_to.size() + v.to.size() + v.cc.size());
    for (const auto& r : m.rcpt_to) s->recipient_keys.push_back(fold(r));
    for (const auto* list : {&v.to, &v.cc})
        for (const auto& a : *list) s->recipient_keys.push_back(fold(a.address));
    if (v.from) s->sender_keys.push_back(fold(v.from->address));
    for (const auto* list : {&v.to, &v.cc, &v.reply_to})
        for (const auto& a : *list)
            if (!a.name.empty()) s->other_keys.push_back(fold(a.name));
    if (v.from && !v.from->name.empty()) s->other_keys.push_back(fold(v.from->name));
    for (const auto& a : v.reply_to) s->other_keys.push_back(fold(a.address));
    s->other_keys.push_back(fold(v.text));
    return s;
}

}  // namespace

std::shared_ptr<const summary> summarize(sink::capture_ring& ring, const sink::captured_message& m) {
    return sink::derived_of<summary>(ring, m, [&] { return make_summary(m); });
}

std::uint64_t heap_bytes(const std::string& s) noexcept {
    return s.capacity() > std::string().capacity() ? s.capacity() + 1 : 0;  // beyond the short-string buffer
}

std::uint64_t heap_bytes(const std::vector<std::string>& v) noexcept {
    std::uint64_t n = v.capacity() * sizeof(std::string);
    for (const auto& s : v) n += heap_bytes(s);
    return n;
}

std::uint64_t summary::bytes() const noexcept {
    std::uint64_t n = sizeof *this + heap_bytes(subject) + heap_bytes(subject_key) + heap_bytes(sender_keys) +
                      heap_bytes(recipient_keys) + heap_bytes(other_keys);
    if (from) n += heap_bytes(from->name) + heap_bytes(from->address);
    return n;
}

std::string fold(std::string_view s) {
    if (s.empty()) return {};
    gm::string valid(g_utf8_make_valid(s.data(), static_cast<gssize>(s.size())));
    gm::string folded(g_utf8_casefold(valid.get(), -1));
    return std::string(gm::text(folded.get()));
}

}  // namespace inspect
