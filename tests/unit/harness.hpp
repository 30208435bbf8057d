// Test helpers for smtp/: a recording observer (which can answer the stage questions with verdicts), a script
// runner (client bytes, and what the server does between reads: open, shutdown, timeout, EOF, TLS up, the end of
// a delay) and for_each_split over it, which runs every script whole, byte
// by byte and split at every offset (tests/for_each_split.hpp) and fails the test where the runs differ.
#pragma once
#include <doctest/doctest.h>

#include <functional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "../for_each_split.hpp"
#include "smtp/session.hpp"

namespace test {

// A refusal inside a transaction, with the header section as far as it was read (for a message refused for
// its size, the whole section however the reads cut it: it names the flow).
struct refusal {
    unsigned short code = 0;
    std::string header;
    bool operator==(const refusal&) const = default;
};

struct recorded_message {
    std::string helo, mail_from, header;
    std::vector<std::string> rcpts;
    std::string body;
    std::uint64_t size = 0;
    bool suspect = false, header_truncated = false;
    smtp::body_kind kind = smtp::body_kind::data;
    smtp::body_type body_type = smtp::body_type::unspecified;
    bool smtputf8 = false;
    std::uint64_t declared_size = 0;
    std::string tls, auth_user;
    bool operator==(const recorded_message&) const = default;
};

class recorder final : public smtp::observer {
public:
    bool want_body = true;
    std::vector<recorded_message> messages;
    std::vector<unsigned short> codes;
    std::string body;
    std::vector<refusal> refusals;
    // The stages asked about, as "stage helo|auth user|mail from|rcpt,rcpt|header", and the verdicts given.
    std::vector<std::string> stages;
    std::function<smtp::verdict(const smtp::stage_event&)> verdicts;

    smtp::verdict on_stage(const smtp::stage_event& e) noexcept override {
        std::string rcpts;
        for (std::size_t i = 0; i < e.env.recipient_count(); ++i)
            rcpts.append(i ? "," : "").append(e.env.recipient_address(i));
        stages.push_back(std::string(smtp::stage_name(e.stage)) + " " + std::string(e.helo) + "|" +
                         std::string(e.auth_user) + "|" + std::string(e.env.mail_from()) + "|" + rcpts + "|" +
                         std::string(e.header));
        return verdicts ? verdicts(e) : smtp::verdict{};
    }
    bool on_header(const smtp::envelope&, std::string_view header, bool) noexcept override {
        body.assign(header);  // header + later body bytes = the whole message
        return want_body;
    }
    void on_refusal(const smtp::envelope&, std::string_view header, unsigned short code) noexcept override {
        refusals.push_back({code, {std::string(header)}});
    }
    void on_body(std::string_view s) noexcept override { body.append(s); }
    void on_message(const smtp::message_info& m) noexcept override {
        recorded_message r;
        r.helo = m.env->helo();
        r.mail_from = m.env->mail_from();
        for (std::size_t i = 0; i < m.env->recipient_count(); ++i) r.rcpts.emplace_back(m.env->recipient_address(i));
        r.header = m.header_section;
        r.body = want_body ? body : std::string();
        r.size = m.size;
        r.suspect = m.smuggling_suspect;
        r.header_truncated = m.header_truncated;
        r.kind = m.kind;
        r.body_type = m.env->body();
        r.smtputf8 = m.env->smtputf8();
        r.declared_size = m.env->has_size() ? m.env->declared_size() : 0;
        r.tls = m.env->tls();
        r.auth_user = m.env->auth_user();
        messages.push_back(std::move(r));
    }
    void on_reply(unsigned short code) noexcept override { codes.push_back(code); }
};

// Whether the server closes after this action (with or without the replies).
inline bool closes(smtp::action a) {
    return a == smtp::action::close_after_flush || a == smtp::action::disconnect || a == smtp::action::reset;
}

// Feeds pieces to `s` as the server does: what feed() leaves unconsumed stays in `pending` and goes again with
// the next piece; each batch of replies goes to `out` and counts as written. Stops when the session closes.
// (While the session waits, feed() takes nothing: the pieces pile up in `pending`, as in the server's buffer.)
template <class Out>
smtp::feed_result feed_pieces(smtp::session& s, const split::pieces& pieces, std::string& pending, Out&& out) {
    smtp::feed_result r{0, smtp::action::none};
    for (auto piece : pieces) {
        pending += piece;
        r = s.feed(pending);
        pending.erase(0, r.consumed);
        out(s.output());
        s.output_written(s.output().size());
        if (closes(r.next)) break;
    }
    return r;
}

// One step of a script: bytes the client sends, or what the server does once every byte before it is fed
// (what that call returns is the step's `next`).
struct step {
    using call = std::function<smtp::action(smtp::session&)>;
    std::string bytes;
    call act;
    bool drops_pending = false;  // the server first drops the client's unread bytes (before a TLS handshake)
    bool feeds_pending = false;  // then feeds them again (after a delay, resume())

    step(std::string b) : bytes(std::move(b)) {}
    step(const char* b) : bytes(b) {}
    explicit step(call a, bool drop = false, bool feed = false)
        : act(std::move(a)), drops_pending(drop), feeds_pending(feed) {}
};
using script = std::vector<step>;

inline const step open{[](smtp::session& s) { return s.open(), smtp::action::none; }};
inline const step shutdown{[](smtp::session& s) { return s.request_shutdown(); }};
inline const step timeout{[](smtp::session& s) { return s.timed_out(), smtp::action::none; }};
inline const step eof{[](smtp::session& s) { return s.feed_eof(), smtp::action::none; }};
// The delay the session asked for (action::wait) is over: resume(), then the bytes that waited are fed.
inline const step resume{[](smtp::session& s) { return s.resume(), smtp::action::none; }, false, true};
// The handshake after STARTTLS (or on an implicit-TLS port) is done; the plaintext held was dropped first.
inline step tls_up(std::string info) {
    return step([info](smtp::session& s) { return s.tls_established(info), smtp::action::none; }, true);
}

// What one step did: the replies it queued, the client bytes still unread after it, the last action feed() (or
// the server's call) returned, and where the session stood.
struct step_result {
    std::string output, left;
    smtp::action next = smtp::action::none;
    smtp::phase phase = smtp::phase::command;
    bool closing = false, tls = false;
    bool operator==(const step_result&) const = default;
};

// What one run of a session over a script produced.
struct run_result {
    std::string output;  // every reply, the greeting included
    std::vector<recorded_message> messages;
    std::vector<unsigned short> codes;
    std::vector<refusal> refusals;
    std::vector<std::string> stages;
    std::vector<step_result> steps;  // up to the one after which the session asked to close
    smtp::action opened = smtp::action::none;  // what open() asked for
    bool closed = false, quit = false;
    bool operator==(const run_result&) const = default;
};

inline std::ostream& operator<<(std::ostream& os, const run_result& r) { return os << r.output; }

struct run_options {
    bool greet = true;      // open() before the script: the 220 first
    bool want_body = true;  // the recorder asks for the body bytes
    std::uint64_t id = 7;   // the session's id, in "queued as ID.N"
    std::function<smtp::verdict(const smtp::stage_event&)> verdicts = {};  // the observer's answers at each stage
};

// Hands the driver's pieces out step by step, cut at the steps' ends, so that no piece crosses a server call.
class piece_cursor {
public:
    explicit piece_cursor(const split::pieces& p) : pieces_(p) {}
    split::pieces take(std::size_t n) {
        split::pieces out;
        while (n > 0 && i_ < pieces_.size()) {
            auto rest = pieces_[i_].substr(off_);
            auto k = std::min(n, rest.size());
            if (k > 0) out.push_back(rest.substr(0, k));
            n -= k;
            off_ += k;
            if (off_ == pieces_[i_].size()) ++i_, off_ = 0;
        }
        if (n != 0) FAIL("the pieces are shorter than the script's bytes");
        return out;
    }

private:
    const split::pieces& pieces_;
    std::size_t i_ = 0, off_ = 0;
};

// Runs `sc` on a fresh session with its bytes cut into `cuts` (a cutting of all its bytes, in order).
inline run_result run_script(const smtp::profile& p, const script& sc, const split::pieces& cuts,
                             run_options o = {}) {
    recorder rec;
    rec.want_body = o.want_body;
    rec.verdicts = o.verdicts;
    smtp::session s(p, rec, o.id);
    run_result res;
    const smtp::action opened = res.opened = o.greet ? s.open() : smtp::action::none;
    res.output = s.output();
    s.output_written(s.output().size());
    piece_cursor next_pieces(cuts);
    std::string pending;
    for (const auto& st : sc) {
        if (closes(opened)) break;
        auto& r = res.steps.emplace_back();
        auto out = [&](std::string_view text) { r.output += text, res.output += text; };
        if (st.act) {
            if (st.drops_pending) pending.clear();
            r.next = st.act(s);
            out(s.output());
            s.output_written(s.output().size());
            if (st.feeds_pending) r.next = feed_pieces(s, {std::string_view()}, pending, out).next;
        } else {
            r.next = feed_pieces(s, next_pieces.take(st.bytes.size()), pending, out).next;
        }
        r.left = pending;
        r.phase = s.current_phase();
        r.closing = s.closing();
        r.tls = s.tls();
        if (closes(r.next)) break;
    }
    res.messages = std::move(rec.messages);
    res.codes = std::move(rec.codes);
    res.refusals = std::move(rec.refusals);
    res.stages = std::move(rec.stages);
    res.closed = s.closing();
    res.quit = s.quit_received();
    return res;
}

// Feeds `pieces` (one step of bytes) to a fresh session.
inline run_result run_pieces(const smtp::profile& p, const split::pieces& pieces, run_options o = {}) {
    std::string all;
    for (auto piece : pieces) all += piece;
    return run_script(p, {all}, pieces, o);
}

// split::for_each_split with every run that differs from the whole input's a test failure.
template <class Run>
auto for_each_split(std::string_view in, Run&& run, const split::ways& how = {}) {
    auto agree = [](const auto& whole, const auto& r, const std::string& what) {
        if (r == whole) return true;
        if constexpr (requires(std::ostream& os) { os << r; })
            FAIL_CHECK(what << " differs:\n" << r << "\nwhole:\n" << whole);
        else
            FAIL_CHECK(what << " differs from the whole input");
        return false;
    };
    return split::for_each_split(in, run, agree, how);
}

// Runs `sc` whole, byte by byte and split in two at every offset (a piece never crosses a server call);
// checks all runs agree and returns the whole-input run.
inline run_result for_each_split(const smtp::profile& p, const script& sc, run_options o = {}) {
    std::string in;
    for (const auto& st : sc) in += st.bytes;
    return for_each_split(in, [&](const split::pieces& cuts) { return run_script(p, sc, cuts, o); });
}

inline run_result for_each_split(const smtp::profile& p, const std::string& input, run_options o = {}) {
    return for_each_split(p, script{input}, o);
}

inline smtp::profile make_profile(std::function<void(smtp::options&)> tweak = {}) {
    smtp::options o;
    o.hostname = "mx.test";
    o.max_message_size = 1000;
    o.max_recipients = 3;
    if (tweak) tweak(o);
    return smtp::profile(o);
}

inline const std::string greeting = "220 mx.test ESMTP smtp-blackhole\r\n";
inline const std::string ehlo_reply =
    "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n"
    "250-ENHANCEDSTATUSCODES\r\n250-CHUNKING\r\n250-BINARYMIME\r\n250 DSN\r\n";

}  // namespace test
