// The properties the PROXY header fuzzer checks, shared by the libFuzzer target, the replay test run by `meson
// test` and the unit tests: any input, fed whole or in pieces the input itself chooses, gets the same verdict and
// header; the parser never uses more than it was given nor waits past its limits; a header does not depend on
// the bytes after it; everything decoded is printable text. Returns "" or what broke.
#pragma once
#include <string>
#include <string_view>

#include "../for_each_split.hpp"
#include "proxy/address.hpp"
#include "proxy/limits.hpp"
#include "proxy/parser.hpp"

namespace fuzz {

struct proxy_run {
    proxy::result result;
    proxy::header header;  // when done
    std::string problem;
    bool operator==(const proxy_run&) const = default;
};

// Feeds the pieces as the server will: each call with every byte so far, until the parser decides.
inline proxy_run feed_proxy(const split::pieces& pieces) {
    proxy::parser p;
    proxy_run run;
    std::string so_far;
    for (auto piece : pieces) {
        so_far.append(piece);
        run.result = p.feed(so_far);
        if (run.result.consumed > so_far.size()) run.problem = "consumed more than given";
        if (run.result.state != proxy::status::need_more) break;
    }
    if (run.result.state == proxy::status::done) run.header = p.get();
    if (run.result.state != proxy::status::need_more) {
        if (p.feed(so_far + "more") != run.result) run.problem = "a decided parser changed its mind";
        return run;
    }
    auto longest = !so_far.empty() && so_far[0] == 'P' ? proxy::limits::v1_line : proxy::limits::v2_header;
    if (so_far.size() >= longest) run.problem = "waits past the longest header";
    return run;
}

inline bool printable(std::string_view s) {
    for (char c : s)
        if (c < 0x20 || c > 0x7e) return false;
    return true;
}

// What is wrong with a decided run over `in`, or "".
inline std::string check_verdict(std::string_view in, const proxy_run& run) {
    const auto& h = run.header;
    if (run.result.state == proxy::status::error)
        return run.result.consumed == 0 && h == proxy::header{} ? "" : "a refusal that consumed or decoded";
    if (run.result.state != proxy::status::done) return "";
    auto n = run.result.consumed;
    if (h.version == 1 && (n > proxy::limits::v1_line || in.substr(n - 2, 2) != "\r\n"))
        return "a v1 header that does not end at its CR LF";
    if (h.version == 2 && (n < proxy::limits::v2_fixed || n > proxy::limits::v2_header))
        return "a v2 header of an impossible length";
    if (h.version != 1 && h.version != 2) return "no version";
    if (feed_proxy({in.substr(0, n)}) != run) return "the header depends on the bytes after it";
    for (const auto* s : {&h.source, &h.destination, &h.authority, &h.alpn, &h.ssl.version, &h.ssl.cipher,
                          &h.ssl.common_name})
        if (!printable(*s)) return "unprintable text: " + *s;
    if (h.has_address() != (h.cmd == proxy::command::proxy && !h.destination.empty())) return "half an address";
    if (h.has_address()) {
        auto a = proxy::address::parse(h.source);
        if (!a || a->to_string() != h.source || a->is_v4() != (h.fam == proxy::family::inet))
            return "an address that does not read back: " + h.source;
        auto port = ":" + std::to_string(h.source_port);
        if (h.client() != (a->is_v4() ? h.source : "[" + h.source + "]") + port) return "a bad client: " + h.client();
    } else if (!h.client().empty()) {
        return "a client without an address";
    }
    return "";
}

// The first 4 bytes give the piece sizes (cycled, 0: the rest); the rest is the connection's first bytes, fed
// whole and in those pieces. `more` adds other cuttings (the replay test: byte by byte, every offset).
inline std::string check_proxy_input(std::string_view data, split::ways more = {{}, false}) {
    auto c = split::check_splits(data, feed_proxy, "the verdict depends", std::move(more));
    if (!c) return "";
    return c->problem.empty() ? check_verdict(data.substr(4), c->whole) : c->problem;
}

}  // namespace fuzz
