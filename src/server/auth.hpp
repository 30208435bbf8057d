// Credential checks for SMTP AUTH: --auth any (every credential is accepted, what most CI set-ups want) and
// --auth-users FILE (lines "user:password"). CRAM-MD5 (RFC 2195) digests are computed with OpenSSL.
#pragma once
#include <istream>
#include <memory>
#include <string>
#include <unordered_map>

#include "smtp/auth.hpp"

namespace server {

class auth_any final : public smtp::authenticator {
public:
    explicit auth_any(std::string hostname) : hostname_(std::move(hostname)) {}
    bool check_password(std::string_view, std::string_view) const override { return true; }
    bool check_cram_md5(std::string_view, std::string_view, std::string_view) const override { return true; }
    std::string challenge() const override;

private:
    std::string hostname_;
};

// The users of an --auth-users file: user -> password.
using users_file = std::unordered_map<std::string, std::string>;

// Reads the lines "user:password" of `in` (blank lines and "#" comments skipped, a CR before the LF dropped, the
// last of a repeated user wins); throws std::runtime_error naming `file` and the line of a problem, or no users.
users_file parse_users(std::istream& in, const std::string& file);

class auth_users final : public smtp::authenticator {
public:
    // Reads FILE; throws std::runtime_error naming the file and line of a problem.
    auth_users(const std::string& file, std::string hostname);
    bool check_password(std::string_view user, std::string_view password) const override;
    bool check_cram_md5(std::string_view user, std::string_view challenge, std::string_view digest) const override;
    std::string challenge() const override;
    std::size_t size() const noexcept { return users_.size(); }

private:
    users_file users_;
    std::string hostname_;
};

// "<random.unixtime@host>" (RFC 2195 2); the random part comes from OpenSSL's RAND_bytes on each call, which any
// thread may call at once (OpenSSL 3 keeps a generator per thread).
std::string cram_challenge(const std::string& hostname);
// Lower-case hex HMAC-MD5 of `challenge` keyed with `password`.
std::string cram_md5_digest(std::string_view password, std::string_view challenge);

}  // namespace server
