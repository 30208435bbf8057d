// The property the fuzzer checks, shared by the libFuzzer target and the replay test run by `meson test`:
// any input, fed whole or in pieces the input itself chooses, gives the same well-formed replies, the
// unconsumed remainder stays within one command line, and nothing crashes. Returns "" or what broke.
#pragma once
#include <string>
#include <string_view>

#include "../for_each_split.hpp"
#include "smtp/limits.hpp"
#include "smtp/session.hpp"

namespace fuzz {

struct null_observer final : smtp::observer {
    std::size_t messages = 0;
    bool on_header(const smtp::envelope&, std::string_view, bool) noexcept override { return true; }
    void on_body(std::string_view) noexcept override {}
    void on_message(const smtp::message_info& m) noexcept override {
        messages += m.env != nullptr;
    }
    void on_reply(unsigned short) noexcept override {}
};

// Accepts the password "pw" and the CRAM-MD5 digest "d"; a fixed challenge keeps runs comparable.
struct fixed_auth final : smtp::authenticator {
    bool check_password(std::string_view, std::string_view p) const override { return p == "pw"; }
    bool check_cram_md5(std::string_view, std::string_view, std::string_view d) const override { return d == "d"; }
    std::string challenge() const override { return "<1.1@fuzz.test>"; }
};

struct fed {
    std::string output;
    std::size_t messages = 0;
    std::string problem;
};

// Feeds the pieces to a fresh session as the server does, stopping where the server would (close, STARTTLS).
inline fed feed_in_pieces(const smtp::profile& p, const split::pieces& pieces) {
    null_observer obs;
    smtp::session s(p, obs, 1);
    s.open();
    fed f;
    f.output = s.output();
    s.output_written(s.output().size());
    std::string pending;
    for (auto piece : pieces) {
        if (s.closing()) break;
        pending.append(piece);
        auto r = s.feed(pending);
        if (r.consumed > pending.size()) f.problem = "consumed more than given";
        if (r.next == smtp::action::start_tls) {  // the server drops the rest: so does this run
            f.output += s.output();
            break;
        }
        pending.erase(0, r.consumed);
        if (pending.size() > smtp::limits::command_line) f.problem = "unconsumed remainder over one command line";
        f.output += s.output();
        s.output_written(s.output().size());
    }
    f.messages = obs.messages;
    return f;
}

inline std::string well_formed(std::string_view out) {
    while (!out.empty()) {
        auto crlf = out.find("\r\n");
        if (crlf == std::string_view::npos) return "reply without CRLF";
        auto line = out.substr(0, crlf);
        if (line.size() < 4 || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '5' || line[2] < '0' ||
            line[2] > '9' || (line[3] != ' ' && line[3] != '-'))
            return "malformed reply line: " + std::string(line.substr(0, 40));
        out.remove_prefix(crlf + 2);
    }
    return "";
}

// A problem either run had, or how `run` (the input fed `how`) differs from the whole input's run.
inline std::string compare(const fed& whole, const fed& run, const std::string& how) {
    if (!whole.problem.empty()) return whole.problem;
    if (!run.problem.empty()) return run.problem;
    if (whole.output != run.output) return "replies depend on how the input was split: " + how;
    if (whole.messages != run.messages) return "messages depend on how the input was split: " + how;
    return "";
}

// The first byte picks options, the next 8 the piece sizes (cycled, 0: the rest); the rest is the client's
// bytes, fed whole and in those pieces. `more` adds other cuttings (the replay test: byte by byte, every offset).
inline std::string check_session_input(std::string_view data, split::ways more = {{}, false}) {
    if (data.size() < 9) return "";
    smtp::options o;
    o.hostname = "fuzz.test";
    o.max_message_size = 64 + static_cast<unsigned char>(data[0]) * 16;
    o.max_recipients = 1 + (static_cast<unsigned char>(data[0]) & 3);
    if (data[0] & 0x40) o.disable(smtp::extension::enhanced_status_codes);
    if (data[0] & 0x80) o.disable(smtp::extension::chunking);
    static fixed_auth auth;
    if (data[0] & 0x20) {  // STARTTLS and AUTH (offered in plaintext too)
        o.tls_available = true;
        o.auth = &auth;
        o.auth_insecure = true;
    }
    smtp::profile p(o);
    auto& sizes = *more.sizes.emplace(more.sizes.begin());
    for (unsigned char n : data.substr(1, 8)) sizes.push_back(n);
    std::string problem;
    auto agree = [&](const fed& whole, const fed& run, const std::string& how) {
        if (problem.empty()) problem = compare(whole, run, how);
        return problem.empty();
    };
    auto run = [&](const split::pieces& pieces) { return feed_in_pieces(p, pieces); };
    auto whole = split::for_each_split(data.substr(9), run, agree, more);
    return problem.empty() ? well_formed(whole.output) : problem;
}

}  // namespace fuzz
