// Every reply the engine sends, formatted in one place (RFC 5321 4.2, enhanced codes RFC 3463 / RFC 2034).
// Replies are rendered once per option set into a reply_book, so sending one is a memcpy.
// RFC 2034 3: the greeting and the EHLO/HELO replies carry no enhanced code; neither can a 3xx reply (354).
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "smtp/stage.hpp"

namespace smtp {

enum class reply_id : std::uint8_t {
    greeting, helo_ok, mail_ok, rcpt_ok, data_start, queued, bdat_chunk, rset_ok, noop_ok, quit, vrfy, help,
    unknown_command, need_helo, need_mail, need_rcpt, nested_mail, mixed_data_bdat,
    bad_sequence, syntax_helo, syntax_mail, syntax_rcpt, syntax_bdat, syntax_vrfy, syntax_no_args, bad_address, need_smtputf8,
    bad_parameter, duplicate_parameter, bad_size_value, unsupported_parameter,
    binarymime_needs_bdat, not_implemented, line_too_long, bad_pipelining,
    size_exceeded_mail, size_exceeded, too_many_recipients, shutting_down, timeout, too_many_connections,
    starttls_ready, tls_active, tls_required, auth_ok, auth_failed, auth_cancelled, auth_bad_base64,
    auth_bad_mechanism, auth_already, auth_in_transaction, auth_needs_tls, syntax_auth,
    count_
};

struct reply_text {
    unsigned short code;
    std::string_view enhanced;  // "" for replies that carry none
    std::string_view text;
};

// The fixed table: code, enhanced code and wording of each reply_id.
const reply_text& describe(reply_id id) noexcept;

// The RFC 3463 enhanced code that fits reply `code` (400..599) at stage `s`: "4.3.0", "5.1.1" (550 at rcpt),
// "5.3.4" (552), "5.7.1" (554)...; the class digit followed by ".0.0" when nothing more specific fits.
std::string_view enhanced_code_for(stage s, unsigned short code) noexcept;
// The usual wording of reply `code` (RFC 5321 4.2.2 and 4.2.3), for a reply whose text was not given.
std::string_view usual_text(stage s, unsigned short code) noexcept;
// Whether `text` starts with an enhanced status code ("4.7.1 ...").
bool starts_with_enhanced_code(std::string_view text) noexcept;

// Options that change how replies are rendered.
struct reply_style {
    std::string hostname = "localhost";
    bool enhanced_codes = true;
};

class reply_book {
public:
    explicit reply_book(const reply_style& style);
    // The complete reply line(s), CRLF included.
    std::string_view get(reply_id id) const noexcept { return lines_[static_cast<std::size_t>(id)]; }
    // "250 2.0.0 Ok: queued as <id>" for the given transaction id.
    void append_queued(std::string& out, std::uint64_t session_id, std::uint64_t txn) const;
    // "250 2.0.0 <n> octets received" after a BDAT chunk that is not the last.
    void append_bdat_chunk(std::string& out, std::uint64_t octets) const;
    // A reply the observer asked for at stage `s` (observer::on_stage): "CODE [ENHANCED ]TEXT", with the enhanced
    // code that fits unless `text` starts with one, or enhanced codes are off, or the stage is connect or ehlo
    // (RFC 2034: the greeting and the EHLO/HELO replies carry none); at connect "CODE HOSTNAME TEXT" (RFC 5321
    // 4.3.1). An empty `text` is the code's usual one.
    void append_injected(std::string& out, stage s, unsigned short code, std::string_view text) const;
    // The multi-line reply to `code` with the given lines, for EHLO and HELP.
    static std::string multiline(unsigned short code, std::string_view enhanced, const std::string_view* lines,
                                 std::size_t n);
    bool enhanced_codes() const noexcept { return enhanced_; }
    const std::string& hostname() const noexcept { return hostname_; }

private:
    std::string render(reply_id id) const;
    std::string hostname_;
    bool enhanced_;
    std::array<std::string, static_cast<std::size_t>(reply_id::count_)> lines_;
};

}  // namespace smtp
