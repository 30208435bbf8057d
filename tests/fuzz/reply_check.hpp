// The properties the client-reply fuzzer checks (the load generator's parser of server replies), shared by the
// libFuzzer target and the replay test: any bytes, fed whole or in pieces the input chooses (as the load
// generator does: what is not consumed is passed again with more appended), give the same replies; a parse never
// consumes more than it was given; a complete reply has a code from 200 to 599, its raw lines end in LF and
// carry that code, and its enhanced code and text are parts of its last line. Returns "" or what broke.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "../for_each_split.hpp"
#include "smtp/client_reply.hpp"

namespace fuzz {

// One reply as the parser gave it, copied out of the caller's bytes.
struct reply_seen {
    smtp::reply_status status;
    unsigned short code;
    std::size_t lines;
    std::string enhanced, text, raw;
    bool operator==(const reply_seen&) const = default;
};

struct reply_run {
    std::vector<reply_seen> replies;  // every complete one, then a malformed one if it came to that
    std::string problem;
    bool operator==(const reply_run& o) const { return replies == o.replies; }
};

// What is wrong with a complete reply parsed from `in`, or "".
inline std::string check_complete(std::string_view in, const smtp::client_reply& r) {
    if (r.code < 200 || r.code > 599) return "a complete reply with code " + std::to_string(r.code);
    if (r.consumed == 0 || r.raw.size() != r.consumed || r.raw.data() != in.data()) return "raw is not what it consumed";
    if (r.raw.back() != '\n' || r.lines == 0) return "a reply that does not end a line";
    auto code = std::to_string(r.code);
    std::size_t lines = 0;
    for (std::size_t pos = 0; pos < r.raw.size(); pos = r.raw.find('\n', pos) + 1, ++lines)
        if (r.raw.substr(pos, 3) != code) return "a line without the reply's code";
    if (lines != r.lines) return "lines miscounted";
    auto last = r.raw.substr(r.raw.rfind('\n', r.raw.size() - 2) + 1);
    auto inside = [&](std::string_view part) {
        return part.empty() || (part.data() >= last.data() && part.data() + part.size() <= last.data() + last.size());
    };
    if (!inside(r.enhanced) || !inside(r.text)) return "enhanced code or text outside the last line";
    if (!r.enhanced.empty() && r.enhanced[0] != code[0]) return "an enhanced code of another class";
    return "";
}

// Feeds the pieces as the load generator does, collecting replies until the bytes run out or one is malformed.
inline reply_run feed_replies(const split::pieces& pieces) {
    smtp::client_reply_parser parser;
    reply_run run;
    std::string pending;
    for (auto piece : pieces) {
        pending.append(piece);
        while (run.problem.empty()) {
            auto r = parser.parse(pending);
            if (r.consumed > pending.size()) run.problem = "consumed more than given";
            if (r.status == smtp::reply_status::incomplete) {
                if (r.consumed != 0) run.problem = "an incomplete reply that consumed";
                break;
            }
            if (r.status == smtp::reply_status::malformed) {
                run.replies.push_back({r.status, 0, 0, {}, {}, {}});
                return run;
            }
            if (auto p = check_complete(pending, r); !p.empty()) run.problem = p;
            run.replies.push_back({r.status, r.code, r.lines, std::string(r.enhanced), std::string(r.text),
                                   std::string(r.raw)});
            pending.erase(0, r.consumed);
        }
    }
    return run;
}

// The first 4 bytes give the piece sizes (cycled, 0: the rest); the rest is what a server sent, fed whole and
// in those pieces. `more` adds other cuttings (the replay test: byte by byte, every offset).
inline std::string check_reply_input(std::string_view data, split::ways more = {{}, false}) {
    auto c = split::check_splits(data, feed_replies, "the replies depend", std::move(more));
    return c ? c->problem : "";
}

}  // namespace fuzz
