// The server side of the SASL exchanges of SMTP AUTH (RFC 4954): PLAIN (RFC 4616), LOGIN, CRAM-MD5 (RFC 2195).
// Fed the AUTH arguments and then each client line; says what to answer. Checking credentials is the
// authenticator's business.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "smtp/auth.hpp"

namespace smtp {

class sasl_exchange {
public:
    enum class status : std::uint8_t { challenge, success, failure, cancelled, bad_base64, bad_mechanism };
    struct step {
        status s;
        std::string_view challenge;  // base64, for status::challenge; valid until the next call
    };

    // AUTH <mechanism> [initial-response] ("=" is an empty initial response, RFC 4954 4).
    step start(std::string_view mechanism, std::string_view initial, const authenticator& a);
    // A client line answering a challenge ("*" cancels).
    step respond(std::string_view line, const authenticator& a);
    bool active() const noexcept { return stage_ != stage::idle; }
    // The user of the last successful exchange.
    const std::string& user() const noexcept { return user_; }
    void reset() noexcept { stage_ = stage::idle; }

private:
    enum class stage : std::uint8_t { idle, plain, login_user, login_password, cram };
    step plain(std::string_view decoded, const authenticator& a);
    step ask(stage next, std::string_view text);
    step done(status s) {
        stage_ = stage::idle;
        return {s, {}};
    }

    stage stage_ = stage::idle;
    std::string user_, decoded_, encoded_, challenge_;
};

}  // namespace smtp
