// The floor's canned SMTP, shared by bench/floor.cpp (plain epoll) and bench/floor_asio.cpp (the same replies
// through Boost.Asio as the daemon uses it): 220 on accept; then per line (up to LF) a reply chosen by the line's
// first byte alone (D: 354 and data, Q: 221 and close, anything else: 250); in data only CR LF . CR LF is looked
// for, a byte at a time, then 250. No parsing, no limits, no EHLO capabilities.
#pragma once
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string_view>

namespace canned {

constexpr std::size_t read_size = 65536;  // smtp-blackhole's largest read (server::max_read_buffer)

constexpr std::string_view greeting = "220 floor\r\n";
constexpr std::string_view ok = "250 ok\r\n";
constexpr std::string_view go_ahead = "354 go\r\n";
constexpr std::string_view bye = "221 bye\r\n";

// What a floor remembers of one connection between reads.
struct session {
    bool in_data = false;
    char first = 0;            // the current line's first byte; 0 at the start of a line
    std::uint8_t matched = 0;  // how much of CR LF . CR LF the data has ended with (0-4)
};

struct totals {
    std::uint64_t transactions = 0;
    std::uint64_t connections = 0;
    std::uint64_t short_writes = 0;  // replies that did not fit the socket at once: the connection is dropped
};

// The totals line, in smtp-blackhole's log format (bench/lib.sh reads both alike).
inline void print_totals(const totals& t) {
    std::fprintf(stderr, "msg=totals transactions=%llu connections=%llu short_writes=%llu\n",
                 static_cast<unsigned long long>(t.transactions), static_cast<unsigned long long>(t.connections),
                 static_cast<unsigned long long>(t.short_writes));
}

// Steps the end-of-data match by one byte; 5 means CR LF . CR LF is complete.
inline std::uint8_t step(std::uint8_t m, char c) {
    switch (c) {
    case '\r': return m == 3 ? 4 : 1;
    case '\n': return m == 1 ? 2 : m == 4 ? 5 : 0;
    case '.': return m == 2 ? 3 : 0;
    default: return 0;
    }
}

// Where one read's replies go, written with one write. Every reply answers at least one byte of input, so a
// read's replies fit in max_reply bytes per byte read.
struct reply_buffer {
    static constexpr std::size_t max_reply = bye.size();
    std::array<char, read_size * max_reply> bytes;
    std::size_t len = 0;

    void add(std::string_view r) {
        std::memcpy(bytes.data() + len, r.data(), r.size());
        len += r.size();
    }
};
static_assert(ok.size() <= reply_buffer::max_reply && go_ahead.size() <= reply_buffer::max_reply);

// Uses the bytes of one read and adds the replies they call for to `out`. Returns false after QUIT.
inline bool consume(session& c, const char* p, const char* end, reply_buffer& out, totals& t) {
    while (p < end) {
        if (c.in_data) {
            std::uint8_t m = c.matched;
            while (p < end && m != 5) m = step(m, *p++);
            if (m != 5) {
                c.matched = m;
                return true;
            }
            c.in_data = false;
            c.matched = 0;
            ++t.transactions;
            out.add(ok);
            continue;
        }
        if (c.first == 0) c.first = *p;
        const void* lf = std::memchr(p, '\n', end - p);
        if (lf == nullptr) return true;
        p = static_cast<const char*>(lf) + 1;
        const char first = c.first;
        c.first = 0;
        if (first == 'D' || first == 'd') {
            c.in_data = true;
            c.matched = 2;  // the DATA line's CR LF starts the terminator: "." CR LF at once is an empty message
            out.add(go_ahead);
        } else if (first == 'Q' || first == 'q') {
            out.add(bye);
            return false;
        } else {
            out.add(ok);
        }
    }
    return true;
}

}  // namespace canned
