// Which version a connection starts with, and version 1's text line (proxy-protocol.txt 2.1). Version 2 is in
// v2.cpp. See parser.hpp.
#include "proxy/parser.hpp"

#include <algorithm>
#include <array>

#include "proxy/address.hpp"
#include "proxy/limits.hpp"

namespace proxy {

namespace {

constexpr std::string_view v1_signature = "PROXY";

// A port: decimal 0-65535 without leading zeros (2.1).
bool parse_port(std::string_view text, std::uint16_t& out) noexcept {
    if (text.empty() || text.size() > 5 || (text.size() > 1 && text[0] == '0')) return false;
    unsigned n = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return false;
        n = n * 10 + static_cast<unsigned>(c - '0');
    }
    if (n > 0xffff) return false;
    out = static_cast<std::uint16_t>(n);
    return true;
}

// Cuts `s` at single spaces into exactly fields.size() fields; false if there are fewer. An extra space shows
// up as an empty field or a space inside the last one, which the fields' own checks refuse.
template <std::size_t N>
bool split_fields(std::string_view s, std::array<std::string_view, N>& fields) noexcept {
    for (std::size_t i = 0; i + 1 < N; ++i) {
        auto sp = s.find(' ');
        if (sp == std::string_view::npos) return false;
        fields[i] = s.substr(0, sp);
        s.remove_prefix(sp + 1);
    }
    fields[N - 1] = s;
    return true;
}

}  // namespace

std::string_view to_string(reason r) noexcept {
    switch (r) {
        case reason::none: return "none";
        case reason::not_proxy: return "not_proxy";
        case reason::bad_v1: return "bad_v1";
        case reason::bad_v2: return "bad_v2";
        case reason::too_long: return "too_long";
        case reason::unsupported: return "unsupported";
    }
    return "unknown";
}

std::string header::client() const {
    if (!has_address()) return {};
    auto port = std::to_string(source_port);
    return fam == family::inet6 ? "[" + source + "]:" + port : source + ":" + port;
}

result parser::feed(std::string_view in) {
    if (verdict_.state != status::need_more || in.empty()) return verdict_;
    // The two signatures differ from their first byte on (2.2: v1 starts "PROXY", v2 with CR LF CR LF ...).
    if (in[0] == v1_signature[0]) return v1(in);
    if (in[0] == '\r') return v2(in);
    return finish(reason::not_proxy, 0);
}

void parser::reset() noexcept {
    checked_ = 0;
    verdict_ = {};
    header_ = {};
}

result parser::finish(reason why, std::size_t length) noexcept {
    if (why == reason::none) {
        verdict_ = {status::done, reason::none, length};
    } else {
        verdict_ = {status::error, why, 0};
        header_ = {};  // nothing half-decoded is left to read
    }
    return verdict_;
}

// Waits for the line's CR LF, refusing as soon as a byte breaks the line: a CR or LF alone (2.1: "must not
// tolerate a single CR or LF"), or a 107th byte that is not the LF.
result parser::v1(std::string_view in) {
    auto sig = v1_signature.substr(0, std::min(in.size(), v1_signature.size()));
    if (in.substr(0, sig.size()) != sig) return finish(reason::not_proxy, 0);
    checked_ = std::max(checked_, v1_signature.size());
    for (; checked_ < in.size(); ++checked_) {
        char c = in[checked_];
        char prev = in[checked_ - 1];
        if (c == '\n') {
            if (prev != '\r') return finish(reason::bad_v1, 0);
            std::size_t length = checked_ + 1;
            return finish(decode_v1(in.substr(0, length - 2)), length);
        }
        if (prev == '\r') return finish(reason::bad_v1, 0);
        if (checked_ + 1 == limits::v1_line) return finish(reason::too_long, 0);
    }
    return verdict_;
}

// "PROXY TCP4|TCP6 src dst sport dport" (single spaces, the addresses of the named family, ports without leading
// zeros) or "PROXY UNKNOWN" followed by anything, which is ignored.
reason parser::decode_v1(std::string_view line) {
    if (line.size() <= v1_signature.size() || line[v1_signature.size()] != ' ') return reason::bad_v1;
    auto rest = line.substr(v1_signature.size() + 1);
    auto proto = rest.substr(0, rest.find(' '));
    header_.version = 1;
    if (proto == "UNKNOWN") {
        header_.cmd = command::unknown;
        header_.fam = family::unspec;
        return reason::none;
    }
    bool v6 = proto == "TCP6";
    if (!v6 && proto != "TCP4") return reason::bad_v1;
    if (proto.size() == rest.size()) return reason::bad_v1;
    std::array<std::string_view, 4> f;
    if (!split_fields(rest.substr(proto.size() + 1), f)) return reason::bad_v1;
    auto src = v6 ? address::parse_v6(f[0]) : address::parse_v4(f[0]);
    auto dst = v6 ? address::parse_v6(f[1]) : address::parse_v4(f[1]);
    if (!src || !dst || !parse_port(f[2], header_.source_port) || !parse_port(f[3], header_.destination_port))
        return reason::bad_v1;
    header_.cmd = command::proxy;
    header_.fam = v6 ? family::inet6 : family::inet;
    header_.source = src->to_string();
    header_.destination = dst->to_string();
    return reason::none;
}

}  // namespace proxy
