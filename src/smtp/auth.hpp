// SMTP AUTH (RFC 4954) as the session sees it: mechanisms and the credential check, which lives outside
// smtp/ (it needs a password file, OpenSSL for CRAM-MD5 and randomness for challenges).
#pragma once
#include <string>
#include <string_view>

namespace smtp {

// One authenticator serves every session of every worker thread at once, so its methods are const: checking a
// credential or making a challenge changes nothing an implementation keeps (its randomness is its own per call
// or per thread).
class authenticator {
public:
    virtual ~authenticator() = default;
    // PLAIN (RFC 4616) and LOGIN: the user and password as the client gave them.
    virtual bool check_password(std::string_view user, std::string_view password) const = 0;
    // CRAM-MD5 (RFC 2195): the challenge that was sent and the client's lower-case hex HMAC-MD5 digest.
    virtual bool check_cram_md5(std::string_view user, std::string_view challenge, std::string_view digest) const = 0;
    // A fresh CRAM-MD5 challenge such as "<1896.697170952@host>".
    virtual std::string challenge() const = 0;
};

}  // namespace smtp
