// SASL exchanges for SMTP AUTH. See sasl.hpp.
#include "smtp/sasl.hpp"

#include "smtp/base64.hpp"
#include "smtp/ascii.hpp"

namespace smtp {

sasl_exchange::step sasl_exchange::ask(stage next, std::string_view text) {
    stage_ = next;
    base64::encode(text, encoded_);
    return {status::challenge, encoded_};
}

sasl_exchange::step sasl_exchange::start(std::string_view mechanism, std::string_view initial, const authenticator& a) {
    bool has_initial = !initial.empty();
    if (initial == "=") initial = {};
    if (has_initial && !initial.empty() && !base64::decode(initial, decoded_)) return done(status::bad_base64);
    if (has_initial && initial.empty()) decoded_.clear();
    if (ascii::iequals(mechanism, "PLAIN")) {
        if (has_initial) return plain(decoded_, a);
        return ask(stage::plain, "");
    }
    if (ascii::iequals(mechanism, "LOGIN")) {
        if (has_initial) {
            user_ = decoded_;
            return ask(stage::login_password, "Password:");
        }
        return ask(stage::login_user, "Username:");
    }
    if (ascii::iequals(mechanism, "CRAM-MD5")) {
        if (has_initial) return done(status::failure);  // RFC 2195: the server speaks first
        challenge_ = a.challenge();
        return ask(stage::cram, challenge_);
    }
    return done(status::bad_mechanism);
}

sasl_exchange::step sasl_exchange::respond(std::string_view line, const authenticator& a) {
    if (line == "*") return done(status::cancelled);
    if (!base64::decode(line, decoded_)) return done(status::bad_base64);
    switch (stage_) {
    case stage::plain: return plain(decoded_, a);
    case stage::login_user:
        user_ = decoded_;
        return ask(stage::login_password, "Password:");
    case stage::login_password: {
        bool ok = a.check_password(user_, decoded_);
        return done(ok ? status::success : status::failure);
    }
    case stage::cram: {
        // "user digest": the digest is the last word (RFC 2195 2).
        std::string_view r = decoded_;
        auto sp = r.rfind(' ');
        if (sp == std::string_view::npos) return done(status::failure);
        user_ = r.substr(0, sp);
        bool ok = a.check_cram_md5(user_, challenge_, r.substr(sp + 1));
        return done(ok ? status::success : status::failure);
    }
    case stage::idle: break;
    }
    return done(status::failure);
}

// RFC 4616 2: [authzid] NUL authcid NUL passwd
sasl_exchange::step sasl_exchange::plain(std::string_view msg, const authenticator& a) {
    auto first = msg.find('\0');
    if (first == std::string_view::npos) return done(status::failure);
    auto second = msg.find('\0', first + 1);
    if (second == std::string_view::npos) return done(status::failure);
    user_ = msg.substr(first + 1, second - first - 1);
    auto password = msg.substr(second + 1);
    if (user_.empty()) return done(status::failure);
    return done(a.check_password(user_, password) ? status::success : status::failure);
}

}  // namespace smtp
