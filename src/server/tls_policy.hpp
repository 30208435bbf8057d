// The TLS policy of every server context (--tls-min-version, --tls-max-version, --tls-ciphers, --tls-ciphersuites,
// --tls-groups): what it is, how its values read and are checked, how it is put on an OpenSSL context, and which
// sink::tls_failures reason a failed handshake's OpenSSL error stands for. It decides nothing about certificates.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

struct ssl_ctx_st;  // OpenSSL's SSL_CTX, kept out of the configuration's headers

namespace server {

// The protocol versions a policy can name, oldest first.
enum class tls_version : std::uint8_t { v1_0, v1_1, v1_2, v1_3 };

// "1.0" to "1.3", or OpenSSL's own names ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"); nothing for anything else.
std::optional<tls_version> parse_tls_version(std::string_view text) noexcept;
// "1.0" to "1.3", as parse_tls_version reads it back.
std::string_view tls_version_name(tls_version v) noexcept;

struct tls_policy {
    tls_version min_version = tls_version::v1_2;  // below 1.2, the context's security level drops to 0
    tls_version max_version = tls_version::v1_3;
    std::string ciphers;       // TLS 1.2 and older, OpenSSL's cipher-list syntax; "": OpenSSL's default
    std::string ciphersuites;  // TLS 1.3 cipher suites, ':'-separated; "": OpenSSL's default
    std::string groups;        // key-exchange groups, ':'-separated, in preference order; "": OpenSSL's default
};

// Puts `p` on `ctx`. Throws std::invalid_argument, one line naming the flag, for a value OpenSSL refuses, a
// TLS 1.3 cipher suite it does not know (it would skip it silently) or a minimum above the maximum.
void apply_tls_policy(ssl_ctx_st* ctx, const tls_policy& p);
// apply_tls_policy on a context made for the check alone: what the configuration calls before the server starts.
void check_tls_policy(const tls_policy& p);

// The index in sink::tls_failures of the reason a handshake failed. `openssl_error`: ERR_get_error's packed code,
// as Asio's ssl category carries it (0: none, the peer gone); `chosen`: the version the server had settled on
// (SSL_version); `offered`: the ClientHello's (SSL_client_version); either is TLS_ANY_VERSION (or 0) while
// unknown. A client that gives up after the server chose a version below the one it offered (--tls-max-version)
// refused that version, whatever it said: an alert, or a record of its own version read as a wrong version number.
std::size_t tls_failure_of(unsigned long openssl_error, int chosen = 0, int offered = 0) noexcept;

}  // namespace server
