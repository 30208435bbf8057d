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

std::shared_ptr<const summary> summarize(const sink::captured_message& m) {
    auto kept = m.derived.load(std::memory_order_acquire);
    if (kept) {
        if (auto s = std::dynamic_pointer_cast<const summary>(kept)) return s;
        return make_summary(m);  // the slot holds something else's: do not replace it
    }
    auto s = make_summary(m);
    std::shared_ptr<const sink::derived_data> mine = s;
    if (m.derived.compare_exchange_strong(kept, mine, std::memory_order_acq_rel))
        return s;
    if (auto other = std::dynamic_pointer_cast<const summary>(kept)) return other;  // another thread was first
    return s;
}

std::string fold(std::string_view s) {
    if (s.empty()) return {};
    gm::string valid(g_utf8_make_valid(s.data(), static_cast<gssize>(s.size())));
    gm::string folded(g_utf8_casefold(valid.get(), -1));
    return std::string(gm::text(folded.get()));
}

}  // namespace inspect
