// Building TLS contexts: files or a self-signed certificate. See tls.hpp.
#include "server/tls.hpp"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <stdexcept>

namespace server {
namespace {

namespace ssl = boost::asio::ssl;

std::string openssl_error() {
    unsigned long e = ERR_get_error();
    char buf[256] = "unknown error";
    if (e) ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    return buf;
}

// "AA:BB:...": OpenSSL's own hex with colons, as `openssl x509 -fingerprint -sha256` prints it.
std::string sha256_fingerprint(X509* cert) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!X509_digest(cert, EVP_sha256(), md, &n)) return {};
    std::unique_ptr<char, void (*)(char*)> hex(OPENSSL_buf2hexstr(md, long(n)), [](char* p) { OPENSSL_free(p); });
    return hex ? std::string(hex.get()) : std::string();
}

// A P-256 key and a certificate for `host`, valid from an hour ago for a year, signed by itself.
void self_signed(SSL_CTX* ctx, const std::string& host) {
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
    std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
    if (!key || !cert) throw std::runtime_error("cannot make a self-signed certificate: " + openssl_error());
    X509_set_version(cert.get(), 2);
    unsigned char serial[16];
    RAND_bytes(serial, sizeof serial);
    serial[0] &= 0x7f;
    BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
    BN_free(bn);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 365L * 24 * 3600);
    X509_set_pubkey(cert.get(), key.get());
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(host.c_str()), -1,
                               -1, 0);
    X509_set_issuer_name(cert.get(), name);
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, cert.get(), cert.get(), nullptr, nullptr, 0);
    std::string san = "DNS:" + host;
    if (X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, NID_subject_alt_name, san.c_str())) {
        X509_add_ext(cert.get(), ext, -1);
        X509_EXTENSION_free(ext);
    }
    if (!X509_sign(cert.get(), key.get(), EVP_sha256()) || SSL_CTX_use_certificate(ctx, cert.get()) != 1 ||
        SSL_CTX_use_PrivateKey(ctx, key.get()) != 1)
        throw std::runtime_error("cannot make a self-signed certificate: " + openssl_error());
}

}  // namespace

tls_config::tls_config(std::string cert_file, std::string key_file, std::string hostname, tls_policy policy)
    : cert_file_(std::move(cert_file)), key_file_(std::move(key_file)), hostname_(std::move(hostname)),
      policy_(std::move(policy)) {
    if (cert_file_.empty() != key_file_.empty()) throw std::runtime_error("--tls-cert and --tls-key go together");
    std::string fp;
    current_.store(build(fp));
    fingerprint_.store(std::make_shared<const std::string>(fp));
}

std::shared_ptr<ssl::context> tls_config::build(std::string& fingerprint) const {
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
    SSL_CTX* native = ctx->native_handle();
    try {
        apply_tls_policy(native, policy_);
    } catch (const std::invalid_argument& e) {
        throw std::runtime_error(e.what());
    }
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_compression |
                     ssl::context::single_dh_use);
    // Resumption: a server-side session cache and (OpenSSL's default) session tickets. One TLS 1.3 ticket per
    // handshake, not OpenSSL's two: a client keeps one session per server (as MTAs and the load generator do),
    // and each ticket is a session encrypted and sent in a record of its own.
    SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_SERVER);
    SSL_CTX_set_num_tickets(native, 1);
    static const unsigned char sid_ctx[] = "smtp-blackhole";
    SSL_CTX_set_session_id_context(native, sid_ctx, sizeof sid_ctx - 1);
    if (cert_file_.empty()) {
        self_signed(native, hostname_);
    } else {
        if (SSL_CTX_use_certificate_chain_file(native, cert_file_.c_str()) != 1)
            throw std::runtime_error("cannot read --tls-cert " + cert_file_ + ": " + openssl_error());
        if (SSL_CTX_use_PrivateKey_file(native, key_file_.c_str(), SSL_FILETYPE_PEM) != 1)
            throw std::runtime_error("cannot read --tls-key " + key_file_ + ": " + openssl_error());
    }
    if (SSL_CTX_check_private_key(native) != 1)
        throw std::runtime_error("the TLS key does not match the certificate: " + openssl_error());
    fingerprint = sha256_fingerprint(SSL_CTX_get0_certificate(native));
    return ctx;
}

std::string tls_config::reload() {
    try {
        std::string fp;
        auto ctx = build(fp);
        current_.store(std::move(ctx));
        fingerprint_.store(std::make_shared<const std::string>(fp));
        return {};
    } catch (const std::exception& e) {
        return e.what();
    }
}

}  // namespace server
