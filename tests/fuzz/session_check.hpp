// The property the fuzzer checks, shared by the libFuzzer target and the replay test run by `meson test`:
// any input, fed whole or in pieces the input itself chooses, gives the same well-formed replies, the
// unconsumed remainder stays within one command line, and nothing crashes. Returns "" or what broke.
#pragma once
#include <string>
#include <string_view>

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

// Feeds `in` in pieces of the given sizes (cycled); 0 means the rest.
inline fed feed_in_pieces(const smtp::profile& p, std::string_view in, std::string_view sizes) {
    null_observer obs;
    smtp::session s(p, obs, 1);
    s.open();
    fed f;
    std::string pending;
    std::size_t pos = 0, k = 0;
    while (pos < in.size() && !s.closing()) {
        std::size_t n = sizes.empty() ? 0 : static_cast<unsigned char>(sizes[k++ % sizes.size()]);
        if (n == 0 || n > in.size() - pos) n = in.size() - pos;
        pending.append(in.substr(pos, n));
        pos += n;
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

// The first byte picks options, the next 8 the piece sizes; the rest is the client's bytes.
inline std::string check_session_input(std::string_view data) {
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
    auto sizes = data.substr(1, 8);
    auto in = data.substr(9);
    auto whole = feed_in_pieces(p, in, "");
    auto pieces = feed_in_pieces(p, in, sizes);
    if (!whole.problem.empty()) return whole.problem;
    if (!pieces.problem.empty()) return pieces.problem;
    if (whole.output != pieces.output) return "replies depend on how the input was split";
    if (whole.messages != pieces.messages) return "messages depend on how the input was split";
    return well_formed(whole.output);
}

}  // namespace fuzz
