// The envelope of one transaction and the parameters recorded with it (RFC 5321 3.3, RFC 1870, RFC 6152,
// RFC 3030, RFC 6531, RFC 3461). Strings live in one arena whose capacity is kept from one transaction to
// the next, so steady-state transactions allocate nothing. Views returned here die with the next change.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace smtp {

enum class body_type : std::uint8_t { unspecified, seven_bit, eight_bit_mime, binary_mime };
enum class dsn_ret : std::uint8_t { unspecified, full, hdrs };

// RFC 3461 4.1 NOTIFY values as bits; 0 when the parameter was not given.
namespace notify {
inline constexpr std::uint8_t never = 1, success = 2, failure = 4, delay = 8;
}

class envelope {
public:
    struct span {
        std::uint32_t off = 0, len = 0;
    };
    struct recipient {
        span address;
        span orcpt;
        std::uint8_t notify = 0;
    };

    void clear() noexcept {
        text_.clear();
        recipients_.clear();
        mail_from_ = envid_ = {};
        helo_ = auth_user_ = tls_ = {};
        has_size_ = smtputf8_ = false;
        size_ = 0;
        body_ = body_type::unspecified;
        ret_ = dsn_ret::unspecified;
    }

    // Stores `s` in the arena and returns where it is.
    span keep(std::string_view s) {
        span r{std::uint32_t(text_.size()), std::uint32_t(s.size())};
        text_.append(s);
        return r;
    }
    std::string_view view(span s) const noexcept { return std::string_view(text_).substr(s.off, s.len); }

    // The reverse-path without brackets; "" for the null sender <>.
    std::string_view mail_from() const noexcept { return view(mail_from_); }
    std::size_t recipient_count() const noexcept { return recipients_.size(); }
    std::string_view recipient_address(std::size_t i) const noexcept { return view(recipients_[i].address); }
    std::string_view recipient_orcpt(std::size_t i) const noexcept { return view(recipients_[i].orcpt); }
    std::uint8_t recipient_notify(std::size_t i) const noexcept { return recipients_[i].notify; }
    bool has_size() const noexcept { return has_size_; }
    std::uint64_t declared_size() const noexcept { return size_; }
    body_type body() const noexcept { return body_; }
    bool smtputf8() const noexcept { return smtputf8_; }
    dsn_ret ret() const noexcept { return ret_; }
    std::string_view envid() const noexcept { return view(envid_); }
    // The EHLO/HELO argument of the session (it cannot change inside a transaction: EHLO resets it).
    std::string_view helo() const noexcept { return helo_; }
    // The AUTH user ("" if none) and the TLS protocol and cipher ("" for plaintext) of the session.
    std::string_view auth_user() const noexcept { return auth_user_; }
    std::string_view tls() const noexcept { return tls_; }

    // Written by the session while it parses MAIL and RCPT.
    void set_mail_from(std::string_view address) { mail_from_ = keep(address); }
    void set_declared_size(std::uint64_t n) noexcept {
        has_size_ = true;
        size_ = n;
    }
    void set_body(body_type b) noexcept { body_ = b; }
    void set_smtputf8() noexcept { smtputf8_ = true; }
    void set_ret(dsn_ret r) noexcept { ret_ = r; }
    void set_envid(std::string_view envid) { envid_ = keep(envid); }
    void add_recipient(const recipient& r) { recipients_.push_back(r); }
    // Takes back the last recipient added (one a verdict refused after it was parsed).
    void drop_last_recipient() noexcept { recipients_.pop_back(); }
    // The session's EHLO/HELO argument, AUTH user and TLS description: the views point into the session.
    void set_session(std::string_view helo, std::string_view auth_user, std::string_view tls) noexcept {
        helo_ = helo;
        auth_user_ = auth_user;
        tls_ = tls;
    }

private:
    span mail_from_{};
    span envid_{};
    bool has_size_ = false;
    bool smtputf8_ = false;
    std::uint64_t size_ = 0;
    body_type body_ = body_type::unspecified;
    dsn_ret ret_ = dsn_ret::unspecified;
    std::vector<recipient> recipients_;
    std::string_view helo_, auth_user_, tls_;
    std::string text_;
};

}  // namespace smtp
