// The TLS policy (server/tls_policy): version names, the checks a bad flag value fails, what is put on an OpenSSL
// context, and the reason each OpenSSL handshake error is counted under.
#include <doctest/doctest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "server/tls_policy.hpp"
#include "sink/counters.hpp"

namespace {

using server::tls_version;

// What check_tls_policy says about `p` ("" when it is accepted).
std::string complaint(const server::tls_policy& p) {
    try {
        server::check_tls_policy(p);
        return {};
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
}

std::string_view reason_of(int ssl_reason, int lib = ERR_LIB_SSL) {
    return sink::tls_failures[server::tls_failure_of(ERR_PACK(lib, 0, ssl_reason))];
}

using ctx_ptr = std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)>;

ctx_ptr server_ctx() { return ctx_ptr(SSL_CTX_new(TLS_server_method()), SSL_CTX_free); }

}  // namespace

TEST_CASE("TLS versions read as 1.x or as OpenSSL names them, and nothing else") {
    CHECK(server::parse_tls_version("1.0") == tls_version::v1_0);
    CHECK(server::parse_tls_version("1.1") == tls_version::v1_1);
    CHECK(server::parse_tls_version("1.2") == tls_version::v1_2);
    CHECK(server::parse_tls_version("1.3") == tls_version::v1_3);
    CHECK(server::parse_tls_version("TLSv1") == tls_version::v1_0);
    CHECK(server::parse_tls_version("TLSv1.1") == tls_version::v1_1);
    CHECK(server::parse_tls_version("TLSv1.2") == tls_version::v1_2);
    CHECK(server::parse_tls_version("TLSv1.3") == tls_version::v1_3);
    for (const char* bad : {"", "1", "1.4", "2.0", "TLSv1.0", "tlsv1.2", " 1.2", "1.2 ", "SSLv3", "1.3.0", "1,2"})
        CHECK_MESSAGE(!server::parse_tls_version(bad), bad);
    for (auto v : {tls_version::v1_0, tls_version::v1_1, tls_version::v1_2, tls_version::v1_3})
        CHECK(server::parse_tls_version(server::tls_version_name(v)) == v);
    CHECK(server::tls_version_name(tls_version::v1_2) == "1.2");
}

TEST_CASE("the default policy is TLS 1.2 to 1.3 with OpenSSL's lists") {
    const server::tls_policy p;
    CHECK(p.min_version == tls_version::v1_2);
    CHECK(p.max_version == tls_version::v1_3);
    CHECK(complaint(p).empty());
    auto ctx = server_ctx();
    const int level = SSL_CTX_get_security_level(ctx.get());
    server::apply_tls_policy(ctx.get(), p);
    CHECK(SSL_CTX_get_min_proto_version(ctx.get()) == TLS1_2_VERSION);
    CHECK(SSL_CTX_get_max_proto_version(ctx.get()) == TLS1_3_VERSION);
    CHECK(SSL_CTX_get_security_level(ctx.get()) == level);
}

TEST_CASE("TLS 1.0 and 1.1 bring the security level down to 0, where OpenSSL 3 allows them") {
    server::tls_policy p;
    p.min_version = tls_version::v1_0;
    p.max_version = tls_version::v1_1;
    auto ctx = server_ctx();
    server::apply_tls_policy(ctx.get(), p);
    CHECK(SSL_CTX_get_min_proto_version(ctx.get()) == TLS1_VERSION);
    CHECK(SSL_CTX_get_max_proto_version(ctx.get()) == TLS1_1_VERSION);
    CHECK(SSL_CTX_get_security_level(ctx.get()) == 0);
}

TEST_CASE("a bad policy is one line naming its flag") {
    server::tls_policy p;
    p.min_version = tls_version::v1_3;
    p.max_version = tls_version::v1_2;
    CHECK(complaint(p) == "--tls-min-version 1.3 is above --tls-max-version 1.2");
    p = {};
    p.ciphers = "NO-SUCH-CIPHER";
    CHECK(complaint(p) == "--tls-ciphers: OpenSSL finds no cipher in 'NO-SUCH-CIPHER'");
    p = {};
    p.ciphersuites = "TLS_AES_128_GCM_SHA256:TLS_AES_128_GCM_SHA999";  // OpenSSL alone would skip the second
    CHECK(complaint(p) == "--tls-ciphersuites: OpenSSL does not know 'TLS_AES_128_GCM_SHA999' (a list is "
                          "':'-separated)");
    p.ciphersuites = "TLS_AES_128_GCM_SHA256,TLS_AES_256_GCM_SHA384";
    CHECK(complaint(p) == "--tls-ciphersuites: OpenSSL does not know 'TLS_AES_128_GCM_SHA256,TLS_AES_256_GCM_SHA384' "
                          "(a list is ':'-separated)");
    p = {};
    p.groups = "X25519:P-999";
    CHECK(complaint(p) == "--tls-groups: OpenSSL does not know 'P-999' (a list is ':'-separated)");
    CHECK(ERR_peek_error() == 0);  // no OpenSSL error left behind for the next handshake to misread
}

TEST_CASE("good lists are taken as OpenSSL takes them") {
    server::tls_policy p;
    p.ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256";
    p.ciphersuites = "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256";
    p.groups = "P-256:X25519";
    CHECK(complaint(p).empty());
    p.ciphers = "HIGH:!aNULL:!MD5";  // the rule language, not only names
    CHECK(complaint(p).empty());
}

TEST_CASE("a failed handshake is counted by what OpenSSL says") {
    CHECK(reason_of(SSL_R_UNSUPPORTED_PROTOCOL) == "protocol_version");
    CHECK(reason_of(SSL_R_VERSION_TOO_LOW) == "protocol_version");
    CHECK(reason_of(SSL_R_VERSION_TOO_HIGH) == "protocol_version");
    CHECK(reason_of(SSL_R_TLSV1_ALERT_PROTOCOL_VERSION) == "protocol_version");
    CHECK(reason_of(SSL_R_NO_SHARED_CIPHER) == "no_shared_cipher");
    CHECK(reason_of(SSL_R_NO_CIPHERS_AVAILABLE) == "no_shared_cipher");
    CHECK(reason_of(SSL_R_NO_SUITABLE_KEY_SHARE) == "no_shared_group");
    CHECK(reason_of(SSL_R_NO_SHARED_GROUPS) == "no_shared_group");
    CHECK(reason_of(SSL_R_TLSV1_ALERT_UNKNOWN_CA) == "peer_alert");
    CHECK(reason_of(SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE) == "peer_alert");
    CHECK(reason_of(SSL_R_WRONG_VERSION_NUMBER) == "other");  // no TLS at all: plaintext on an smtps port
    CHECK(reason_of(SSL_R_UNSUPPORTED_PROTOCOL, ERR_LIB_SYS) == "other");
    CHECK(server::tls_failure_of(0) == sink::tls_failure_index("other"));  // the peer gone, nothing said
    CHECK(sink::tls_failures[sink::tls_failure_index("timeout")] == "timeout");
    CHECK(sink::tls_failures[sink::tls_failure_index("no such reason")] == "other");
}

TEST_CASE("a client that gives up on the older version the server chose refused that version") {
    auto of = [](unsigned long err, int chosen, int offered) {
        return sink::tls_failures[server::tls_failure_of(err, chosen, offered)];
    };
    const auto wrong_record = ERR_PACK(ERR_LIB_SSL, 0, SSL_R_WRONG_VERSION_NUMBER);
    const auto internal_error = ERR_PACK(ERR_LIB_SSL, 0, SSL_AD_REASON_OFFSET + SSL_AD_INTERNAL_ERROR);
    // --tls-max-version 1.1 against a client that offered 1.2: whatever it does next is about the version.
    CHECK(of(wrong_record, TLS1_1_VERSION, TLS1_2_VERSION) == "protocol_version");
    CHECK(of(internal_error, TLS1_1_VERSION, TLS1_2_VERSION) == "protocol_version");
    CHECK(of(0, TLS1_1_VERSION, TLS1_2_VERSION) == "protocol_version");
    // The version the client asked for, or none chosen yet: the error stands.
    CHECK(of(wrong_record, TLS1_2_VERSION, TLS1_2_VERSION) == "other");
    CHECK(of(internal_error, TLS1_3_VERSION, TLS1_2_VERSION) == "peer_alert");
    CHECK(of(wrong_record, TLS_ANY_VERSION, TLS1_2_VERSION) == "other");
    CHECK(of(wrong_record, 0, 0) == "other");
    CHECK(of(wrong_record, TLS1_3_VERSION, TLS_ANY_VERSION) == "other");  // no ClientHello read: plaintext
    // A precise reason is never overridden.
    CHECK(of(ERR_PACK(ERR_LIB_SSL, 0, SSL_R_NO_SHARED_CIPHER), TLS1_1_VERSION, TLS1_2_VERSION) == "no_shared_cipher");
}
