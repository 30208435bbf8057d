// The per-connection sink that discards bodies and counts exactly (into its thread's counters).
// It is the smtp::observer of one session; flows, sampling and capture plug in here, not in smtp/.
#pragma once
#include "sink/counters.hpp"
#include "smtp/observer.hpp"

namespace sink {

class discard_sink final : public smtp::observer {
public:
    explicit discard_sink(thread_counters& c) noexcept : c_(c) {}
    void on_message(const smtp::message_info& m) noexcept override {
        c_.transactions.add();
        c_.recipients.add(m.env->recipient_count());
        c_.bytes.add(m.size);
        if (m.smuggling_suspect) c_.smuggling_suspects.add();
    }
    void on_reply(unsigned short code) noexcept override {
        if (code < reply_codes) c_.replies[code].add();
    }

private:
    thread_counters& c_;
};

}  // namespace sink
