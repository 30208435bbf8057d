// Reading, checking and applying the TLS policy; the reasons of failed handshakes. See tls_policy.hpp.
#include "server/tls_policy.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <array>
#include <memory>
#include <stdexcept>

#include "sink/counters.hpp"

namespace server {
namespace {

struct version_name {
    tls_version version;
    std::string_view plain, openssl;  // "1.2", and SSL_get_version's "TLSv1.2"
    int wire;                         // OpenSSL's constant
};

constexpr std::array<version_name, 4> versions = {{{tls_version::v1_0, "1.0", "TLSv1", TLS1_VERSION},
                                                  {tls_version::v1_1, "1.1", "TLSv1.1", TLS1_1_VERSION},
                                                  {tls_version::v1_2, "1.2", "TLSv1.2", TLS1_2_VERSION},
                                                  {tls_version::v1_3, "1.3", "TLSv1.3", TLS1_3_VERSION}}};

const version_name& entry(tls_version v) noexcept { return versions[static_cast<std::size_t>(v)]; }

// The first ':'-separated item of `list` that `accepts` refuses on its own; nothing when each is accepted.
template <class Accepts>
std::optional<std::string> first_refused(const std::string& list, Accepts accepts) {
    for (std::size_t at = 0; at <= list.size();) {
        auto end = std::min(list.find(':', at), list.size());
        std::string item = list.substr(at, end - at);
        if (!accepts(item)) return item;
        at = end + 1;
    }
    return std::nullopt;
}

// A ':'-separated list of names OpenSSL takes as a whole but would skip unknown names in (TLS 1.3 cipher suites)
// or refuse without saying which (groups): each name is tried alone first, so the error names the bad one.
void set_list(SSL_CTX* ctx, const std::string& flag, const std::string& list, int (*set)(SSL_CTX*, const char*)) {
    if (list.empty()) return;
    auto bad = first_refused(list, [&](const std::string& item) { return set(ctx, item.c_str()) == 1; });
    ERR_clear_error();
    if (bad) throw std::invalid_argument(flag + ": OpenSSL does not know '" + *bad + "' (a list is ':'-separated)");
    if (set(ctx, list.c_str()) != 1) {
        ERR_clear_error();
        throw std::invalid_argument(flag + ": OpenSSL refuses '" + list + "'");
    }
}

int set_ciphersuites(SSL_CTX* ctx, const char* list) { return SSL_CTX_set_ciphersuites(ctx, list); }
int set_groups(SSL_CTX* ctx, const char* list) { return int(SSL_CTX_set1_groups_list(ctx, list)); }

}  // namespace

std::optional<tls_version> parse_tls_version(std::string_view text) noexcept {
    for (const auto& v : versions)
        if (text == v.plain || text == v.openssl) return v.version;
    return std::nullopt;
}

std::string_view tls_version_name(tls_version v) noexcept { return entry(v).plain; }

void apply_tls_policy(SSL_CTX* ctx, const tls_policy& p) {
    if (p.min_version > p.max_version)
        throw std::invalid_argument("--tls-min-version " + std::string(tls_version_name(p.min_version)) +
                                    " is above --tls-max-version " + std::string(tls_version_name(p.max_version)));
    // OpenSSL 3 allows TLS 1.0 and 1.1 (SHA-1 and MD5 in their handshakes) at security level 0 only.
    if (p.min_version < tls_version::v1_2) SSL_CTX_set_security_level(ctx, 0);
    SSL_CTX_set_min_proto_version(ctx, entry(p.min_version).wire);
    SSL_CTX_set_max_proto_version(ctx, entry(p.max_version).wire);
    if (!p.ciphers.empty() && SSL_CTX_set_cipher_list(ctx, p.ciphers.c_str()) != 1) {
        ERR_clear_error();
        throw std::invalid_argument("--tls-ciphers: OpenSSL finds no cipher in '" + p.ciphers + "'");
    }
    set_list(ctx, "--tls-ciphersuites", p.ciphersuites, set_ciphersuites);
    set_list(ctx, "--tls-groups", p.groups, set_groups);
}

void check_tls_policy(const tls_policy& p) {
    std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
    if (!ctx) throw std::runtime_error("cannot make a TLS context");
    apply_tls_policy(ctx.get(), p);
}

namespace {

// What OpenSSL's error alone says (tls_failure_of).
std::size_t reason_of(unsigned long openssl_error) noexcept {
    auto reason = [](std::string_view name) { return sink::tls_failure_index(name); };
    if (openssl_error == 0 || ERR_GET_LIB(openssl_error) != ERR_LIB_SSL) return reason("other");
    switch (ERR_GET_REASON(openssl_error)) {
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_UNSUPPORTED_SSL_VERSION:
    case SSL_R_VERSION_TOO_LOW:
    case SSL_R_VERSION_TOO_HIGH:
    case SSL_R_WRONG_SSL_VERSION:
    case SSL_R_NO_PROTOCOLS_AVAILABLE:
    case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:  // the client's alert, for a version it will not take
        return reason("protocol_version");
    case SSL_R_NO_SHARED_CIPHER:
    case SSL_R_NO_CIPHERS_AVAILABLE:
    case SSL_R_NO_CIPHERS_SPECIFIED:
        return reason("no_shared_cipher");
    case SSL_R_NO_SUITABLE_KEY_SHARE:
    case SSL_R_NO_SHARED_GROUPS:
    case SSL_R_NO_SUITABLE_GROUPS:
        return reason("no_shared_group");
    default:
        break;
    }
    // Any other alert the client sent (its reason is SSL_AD_REASON_OFFSET + the alert's number, RFC 8446 6).
    const int r = ERR_GET_REASON(openssl_error);
    if (r >= SSL_AD_REASON_OFFSET && r < SSL_AD_REASON_OFFSET + 256) return reason("peer_alert");
    return reason("other");
}

}  // namespace

std::size_t tls_failure_of(unsigned long openssl_error, int chosen, int offered) noexcept {
    const auto said = reason_of(openssl_error);
    const bool vague = said == sink::tls_failure_index("other") || said == sink::tls_failure_index("peer_alert");
    auto known = [](int v) { return v >= TLS1_VERSION && v <= TLS1_3_VERSION; };  // not TLS_ANY_VERSION: unset
    const bool downgraded = known(chosen) && known(offered) && chosen < offered;
    return vague && downgraded ? sink::tls_failure_index("protocol_version") : said;
}

}  // namespace server
