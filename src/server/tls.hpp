// The TLS configuration (OpenSSL 3 through Asio): the certificate and key from files, or a self-signed
// certificate made in memory for --hostname; the TLS policy (versions, ciphers, groups: tls_policy.hpp); session
// resumption (server cache and tickets). SIGHUP reloads the files: new handshakes use the new pair (under the same
// policy), open sessions keep theirs; a bad pair keeps the old.
#pragma once
#include <atomic>
#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>

#include "server/tls_policy.hpp"

namespace server {

class tls_config {
public:
    // Loads `cert_file`/`key_file` (PEM, chain allowed) or, when both are empty, makes a self-signed pair for
    // `hostname`; every context it makes follows `policy`. Throws std::runtime_error with a one-line reason.
    tls_config(std::string cert_file, std::string key_file, std::string hostname, tls_policy policy);
    // The context for a new handshake.
    std::shared_ptr<boost::asio::ssl::context> current() const { return current_.load(); }
    // SHA-256 fingerprint of the certificate in use, "AB:CD:...".
    std::string fingerprint() const { return fingerprint_.load() ? *fingerprint_.load() : std::string(); }
    // Reloads the files; returns "" on success or why the old pair was kept. Self-signed: makes a new pair.
    std::string reload();

private:
    std::shared_ptr<boost::asio::ssl::context> build(std::string& fingerprint) const;

    const std::string cert_file_, key_file_, hostname_;
    const tls_policy policy_;
    std::atomic<std::shared_ptr<boost::asio::ssl::context>> current_;
    std::atomic<std::shared_ptr<const std::string>> fingerprint_;
};

}  // namespace server
