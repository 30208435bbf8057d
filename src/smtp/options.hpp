// What an operator may set on the protocol engine, and the compiled profile that sessions share.
// A profile is built once at start (replies rendered, EHLO text built) and read by every session.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "smtp/reply.hpp"

namespace smtp {

// ESMTP extensions that can be switched off (--disable-extension) to test clients' fallback paths.
enum class extension : std::uint8_t {
    pipelining, size, eight_bit_mime, smtputf8, enhanced_status_codes, chunking, dsn, count_
};

// The --disable-extension name of each extension ("pipelining", "8bitmime", ...).
std::string_view extension_name(extension e) noexcept;
// Looks an extension up by its name, case-insensitively; false if there is none.
bool extension_from_name(std::string_view name, extension& out) noexcept;

struct options {
    std::string hostname = "localhost";
    std::uint64_t max_message_size = 64ull << 20;  // RFC 1870; 0 would mean no limit, not allowed here
    std::size_t max_recipients = 1000;              // RFC 5321 4.5.3.1.8 asks for at least 100
    std::uint32_t disabled = 0;                     // bit (1 << extension) per disabled extension

    bool enabled(extension e) const noexcept { return !(disabled & (1u << unsigned(e))); }
    void disable(extension e) noexcept { disabled |= 1u << unsigned(e); }
};

class profile {
public:
    explicit profile(const options& o);
    const options& opts() const noexcept { return opts_; }
    const reply_book& replies() const noexcept { return book_; }
    std::string_view ehlo_reply() const noexcept { return ehlo_; }
    std::string_view help_reply() const noexcept { return book_.get(reply_id::help); }
    bool enabled(extension e) const noexcept { return opts_.enabled(e); }

private:
    options opts_;
    reply_book book_;
    std::string ehlo_;
};

}  // namespace smtp
