// Credential checks. See auth.hpp.
#include "server/auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <chrono>
#include <fstream>
#include <stdexcept>

namespace server {

std::string cram_challenge(const std::string& hostname) {
    std::uint64_t r = 0;
    RAND_bytes(reinterpret_cast<unsigned char*>(&r), sizeof r);
    auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
    std::string out(1, '<');  // appended piece by piece: GCC 12 misreads "<" + std::string as overlapping (-Wrestrict)
    out.append(std::to_string(r)).append(".").append(std::to_string(now.count())).append("@").append(hostname);
    out += '>';
    return out;
}

std::string cram_md5_digest(std::string_view password, std::string_view challenge) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    HMAC(EVP_md5(), password.data(), int(password.size()), reinterpret_cast<const unsigned char*>(challenge.data()),
         challenge.size(), md, &n);
    static const char hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < n; ++i) {
        out += hex[md[i] >> 4];
        out += hex[md[i] & 15];
    }
    return out;
}

std::string auth_any::challenge() const { return cram_challenge(hostname_); }

users_file parse_users(std::istream& in, const std::string& file) {
    users_file users;
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty() || line[0] == '#') continue;
        auto colon = line.find(':');
        if (colon == std::string::npos || colon == 0)
            throw std::runtime_error("--auth-users " + file + " line " + std::to_string(n) + ": expected user:password");
        users[line.substr(0, colon)] = line.substr(colon + 1);
    }
    if (users.empty()) throw std::runtime_error("--auth-users " + file + ": no users");
    return users;
}

auth_users::auth_users(const std::string& file, std::string hostname) : hostname_(std::move(hostname)) {
    std::ifstream in(file);
    if (!in) throw std::runtime_error("cannot read --auth-users " + file);
    users_ = parse_users(in, file);
}

bool auth_users::check_password(std::string_view user, std::string_view password) const {
    auto it = users_.find(std::string(user));
    if (it == users_.end() || it->second.size() != password.size()) return false;
    return CRYPTO_memcmp(it->second.data(), password.data(), password.size()) == 0;
}

bool auth_users::check_cram_md5(std::string_view user, std::string_view challenge,
                                std::string_view digest) const {
    auto it = users_.find(std::string(user));
    if (it == users_.end()) return false;
    auto expect = cram_md5_digest(it->second, challenge);
    return expect.size() == digest.size() && CRYPTO_memcmp(expect.data(), digest.data(), digest.size()) == 0;
}

std::string auth_users::challenge() const { return cram_challenge(hostname_); }

}  // namespace server
