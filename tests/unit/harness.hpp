// Test helpers: a recording observer, a session driver, and for_each_split, which feeds the same input
// whole, one byte at a time and split at every offset, as the server's reads might cut it.
#pragma once
#include <doctest/doctest.h>

#include <functional>
#include <string>
#include <vector>

#include "smtp/session.hpp"

namespace test {

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
};

class recorder final : public smtp::observer {
public:
    bool want_body = true;
    std::vector<recorded_message> messages;
    std::vector<unsigned short> codes;
    std::string body;

    std::vector<std::pair<unsigned short, std::string>> refusals;  // code, header given with it

    bool on_header(const smtp::envelope&, std::string_view header, bool) noexcept override {
        body.assign(header);  // header + later body bytes = the whole message
        return want_body;
    }
    void on_refusal(const smtp::envelope&, std::string_view header, unsigned short code) noexcept override {
        refusals.emplace_back(code, std::string(header));
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
        messages.push_back(std::move(r));
    }
    void on_reply(unsigned short code) noexcept override { codes.push_back(code); }
};

// What one run of a session over some input produced.
struct run_result {
    std::string output;
    std::vector<recorded_message> messages;
    std::vector<unsigned short> codes;
    bool closed = false;
};

// Feeds `pieces` to a fresh session as a server would: unconsumed bytes are kept and passed again.
inline run_result run_pieces(const smtp::profile& p, const std::vector<std::string>& pieces, bool greet = true) {
    recorder rec;
    smtp::session s(p, rec, 7);
    if (greet) s.open();
    std::string pending, out;
    bool closed = false;
    for (const auto& piece : pieces) {
        pending += piece;
        auto r = s.feed(pending);
        pending.erase(0, r.consumed);
        out += s.output();
        s.output_written(s.output().size());
        if (r.next == smtp::action::close_after_flush) {
            closed = true;
            break;
        }
    }
    return {out, rec.messages, rec.codes, closed || s.closing()};
}

inline bool same(const run_result& a, const run_result& b) {
    if (a.output != b.output || a.codes != b.codes || a.closed != b.closed) return false;
    if (a.messages.size() != b.messages.size()) return false;
    for (std::size_t i = 0; i < a.messages.size(); ++i) {
        const auto &x = a.messages[i], &y = b.messages[i];
        if (x.mail_from != y.mail_from || x.rcpts != y.rcpts || x.header != y.header || x.body != y.body ||
            x.size != y.size || x.suspect != y.suspect || x.helo != y.helo)
            return false;
    }
    return true;
}

// Runs `input` whole, byte by byte and split in two at every offset; checks all runs agree and returns
// the whole-input run.
inline run_result for_each_split(const smtp::profile& p, const std::string& input) {
    auto whole = run_pieces(p, {input});
    std::vector<std::string> bytes;
    for (char c : input) bytes.emplace_back(1, c);
    auto by_byte = run_pieces(p, bytes);
    CHECK_MESSAGE(same(whole, by_byte), "byte-at-a-time differs:\n" << by_byte.output << "\nwhole:\n" << whole.output);
    for (std::size_t cut = 1; cut < input.size(); ++cut) {
        auto split = run_pieces(p, {input.substr(0, cut), input.substr(cut)});
        if (!same(whole, split)) {
            FAIL_CHECK("split at " << cut << " differs:\n" << split.output << "\nwhole:\n" << whole.output);
            break;
        }
    }
    return whole;
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
