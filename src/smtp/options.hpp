// What an operator may set on the protocol engine, and the compiled profile that sessions share.
// A profile is built once at start (replies rendered, EHLO text built) and read by every session.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "smtp/auth.hpp"
#include "smtp/reply.hpp"

namespace smtp {

// ESMTP extensions that can be switched off (--disable-extension) to test clients' fallback paths.
enum class extension : std::uint8_t {
    pipelining, size, eight_bit_mime, smtputf8, enhanced_status_codes, chunking, dsn, starttls, auth, count_
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
    bool tls_available = false;   // the server can do TLS: STARTTLS is offered (unless disabled)
    bool require_tls = false;     // MAIL and AUTH before STARTTLS get 530 5.7.0
    bool auth_insecure = false;   // AUTH is offered without TLS too
    const authenticator* auth = nullptr;  // AUTH is offered when set (and not disabled); not owned

    bool enabled(extension e) const noexcept { return !(disabled & (1u << unsigned(e))); }
    void disable(extension e) noexcept { disabled |= 1u << unsigned(e); }
};

class profile {
public:
    explicit profile(const options& o);
    const options& opts() const noexcept { return opts_; }
    const reply_book& replies() const noexcept { return book_; }
    // The EHLO reply before and after TLS (STARTTLS and AUTH depend on it, RFC 3207 4.2, RFC 4954 4).
    std::string_view ehlo_reply(bool tls) const noexcept { return tls ? ehlo_tls_ : ehlo_; }
    // AUTH may be used now (configured, not disabled, and over TLS unless --auth-insecure).
    bool auth_offered(bool tls) const noexcept {
        return opts_.auth && enabled(extension::auth) && (tls || opts_.auth_insecure);
    }
    bool starttls_offered(bool tls) const noexcept {
        return !tls && opts_.tls_available && enabled(extension::starttls);
    }
    std::string_view help_reply() const noexcept { return book_.get(reply_id::help); }
    bool enabled(extension e) const noexcept { return opts_.enabled(e); }

private:
    options opts_;
    reply_book book_;
    std::string build_ehlo(bool tls) const;
    std::string ehlo_, ehlo_tls_;
};

}  // namespace smtp
