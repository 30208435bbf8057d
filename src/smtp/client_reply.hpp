// The client side of RFC 5321 4.2: an incremental parser of server replies (single and multi-line, with an
// optional RFC 3463 enhanced status code) for the load generator and tests. Sans-IO: it owns no buffer; the
// caller keeps unconsumed bytes and passes them again, and results point into the caller's bytes.
#pragma once
#include <cstddef>
#include <string_view>

namespace smtp {

namespace limits {
// RFC 5321 4.5.3.1.5: a reply line is at most 512 octets including CRLF. Servers overrun it in practice
// (long EHLO lines), so the parser allows twice that before calling the reply malformed.
inline constexpr std::size_t client_reply_line = 1024;
// A whole multi-line reply (EHLO with many extensions stays far below this).
inline constexpr std::size_t client_reply_total = 64 * 1024;
}  // namespace limits

enum class reply_status : unsigned char {
    incomplete,  // need more bytes; nothing consumed (pass the same bytes again with more appended)
    complete,    // one whole reply; `consumed` bytes belong to it
    malformed,   // not a reply (bad code, mixed codes, line too long): the connection is out of sync
};

struct client_reply {
    reply_status status = reply_status::incomplete;
    std::size_t consumed = 0;     // bytes of this reply, CRLFs included (complete only)
    unsigned short code = 0;      // 200..599 (complete only)
    std::size_t lines = 0;        // lines in the reply
    std::string_view enhanced;    // "2.1.0" of the last line, "" if it has none
    std::string_view text;        // the last line's text after the code and enhanced code
    std::string_view raw;         // every line of the reply, CRLFs included
};

// Feed it the bytes received and not yet consumed; each call returns at most one reply. A scan that ends
// on an incomplete reply remembers where it stopped, so a long reply fed in small pieces is parsed in linear
// time; after a complete reply the caller drops `consumed` bytes and calls again with the rest.
class client_reply_parser {
public:
    client_reply parse(std::string_view in) noexcept;
    void reset() noexcept { scanned_ = 0; lines_ = 0; code_ = 0; }

private:
    std::size_t scanned_ = 0;  // bytes of `in` already known to be complete continuation lines
    std::size_t lines_ = 0;
    unsigned short code_ = 0;
};

// Whether a multi-line EHLO reply (its `raw` bytes) advertises `keyword` (RFC 5321 4.1.1.1: each line after
// the first is "keyword [params]"); case-insensitive.
bool ehlo_has(std::string_view raw, std::string_view keyword) noexcept;

// The enhanced status code ("2.1.0") at the start of `text` when it is one (RFC 3463 2, class matching the
// reply's first digit), else "".
std::string_view enhanced_code_prefix(std::string_view text, unsigned short code) noexcept;

}  // namespace smtp
