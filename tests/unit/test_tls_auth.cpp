// STARTTLS (RFC 3207) and AUTH (RFC 4954) in the session: advertising, the plaintext-injection defence,
// state reset after TLS, --require-tls, and the PLAIN, LOGIN and CRAM-MD5 exchanges.
#include <doctest/doctest.h>

#include "harness.hpp"
#include "smtp/base64.hpp"

namespace {

// Accepts alice:secret; CRAM-MD5 accepts the digest "good" for alice.
struct fake_auth final : smtp::authenticator {
    bool check_password(std::string_view u, std::string_view p) const override { return u == "alice" && p == "secret"; }
    bool check_cram_md5(std::string_view u, std::string_view challenge, std::string_view digest) const override {
        last_challenge = std::string(challenge);
        return u == "alice" && digest == "good";
    }
    std::string challenge() const override { return "<1.2@mx.test>"; }
    mutable std::string last_challenge;  // what the session passed to the check, for the test to read
};

std::string b64(std::string_view s) {
    std::string out;
    smtp::base64::encode(s, out);
    return out;
}

smtp::profile tls_profile(fake_auth& a, bool require = false, bool insecure = false) {
    return test::make_profile([&](smtp::options& o) {
        o.tls_available = true;
        o.require_tls = require;
        o.auth = &a;
        o.auth_insecure = insecure;
    });
}

const std::string ehlo_tail = "250-ENHANCEDSTATUSCODES\r\n250-CHUNKING\r\n250-BINARYMIME\r\n250-DSN\r\n";

}  // namespace

TEST_CASE("base64: round trips and strict decoding") {
    std::string out;
    for (std::string s : {std::string(), std::string("a"), std::string("ab"), std::string("abc"),
                          std::string("abcd"), std::string("\0user\0pass", 10)}) {
        std::string d;
        smtp::base64::encode(s, out);
        REQUIRE(smtp::base64::decode(out, d));
        CHECK(d == s);
    }
    smtp::base64::encode(std::string_view("\0alice\0secret", 13), out);
    CHECK(out == "AGFsaWNlAHNlY3JldA==");
    CHECK_FALSE(smtp::base64::decode("abc", out));
    CHECK_FALSE(smtp::base64::decode("ab=c", out));
    CHECK_FALSE(smtp::base64::decode("a!==", out));
    CHECK_FALSE(smtp::base64::decode("YQ==YQ==", out));
}

TEST_CASE("starttls: advertised before TLS only; pipelined plaintext after it is never executed") {
    fake_auth a;
    auto p = tls_profile(a);
    std::string injected = "MAIL FROM:<evil@x.test>\r\nRCPT TO:<v@y.test>\r\n";
    auto r = test::for_each_split(p,
                                  {"EHLO c.test\r\nSTARTTLS\r\n" + injected, "NOOP\r\n",
                                   test::tls_up("TLSv1.3 TLS_AES_128_GCM_SHA256"), "MAIL FROM:<a@x.test>\r\n",
                                   "EHLO c.test\r\nSTARTTLS\r\n",
                                   "MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\nx\r\n.\r\n"},
                                  {.greet = false});
    REQUIRE(r.steps.size() == 6);
    CHECK(r.steps[0].next == smtp::action::start_tls);
    CHECK(r.steps[0].left == injected);  // consumed up to STARTTLS's line only
    const auto& out = r.steps[0].output;
    CHECK(out.find("250-STARTTLS\r\n250 AUTH") == std::string::npos);  // AUTH not offered in plaintext
    CHECK(out.find("250 STARTTLS\r\n") != std::string::npos);
    CHECK(out.ends_with("220 2.0.0 Ready to start TLS\r\n"));
    CHECK(r.steps[1].left == injected + "NOOP\r\n");  // nothing is read until TLS is up
    CHECK(r.steps[2].tls);
    CHECK(r.steps[2].left.empty());  // the server dropped the plaintext
    CHECK(r.steps[3].output == "503 5.5.1 Send EHLO or HELO first\r\n");  // everything before TLS is forgotten
    const auto& again = r.steps[4].output;
    CHECK(again.find("STARTTLS\r\n") == std::string::npos);
    CHECK(again.find("250 AUTH PLAIN LOGIN CRAM-MD5\r\n") != std::string::npos);
    CHECK(again.ends_with("503 5.5.1 TLS already active\r\n"));
    REQUIRE(r.messages.size() == 1);
    CHECK(r.messages[0].mail_from == "a@x.test");
}

TEST_CASE("starttls: the transaction carries the TLS details") {
    fake_auth a;
    auto p = tls_profile(a);
    // An implicit-TLS port: TLS is up before open().
    auto r = test::for_each_split(p,
                                  {test::tls_up("TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256"), test::open,
                                   "EHLO c.test\r\nAUTH PLAIN " + b64(std::string("\0alice\0secret", 13)) +
                                       "\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\nx\r\n.\r\n"},
                                  {.greet = false});
    REQUIRE(r.messages.size() == 1);
    CHECK(r.messages[0].tls == "TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256");
    CHECK(r.messages[0].auth_user == "alice");
}

TEST_CASE("require-tls: MAIL and AUTH before STARTTLS get 530 5.7.0") {
    fake_auth a;
    auto p = tls_profile(a, true, true);
    auto r = test::for_each_split(p, "EHLO c.test\r\nMAIL FROM:<a@x.test>\r\nAUTH PLAIN\r\nNOOP\r\n");
    CHECK(r.output.find("530 5.7.0 Must issue a STARTTLS command first\r\n530 5.7.0 Must issue a STARTTLS "
                        "command first\r\n250 2.0.0 Ok\r\n") != std::string::npos);
}

TEST_CASE("auth: PLAIN, LOGIN and CRAM-MD5 exchanges, and every refusal") {
    fake_auth a;
    auto p = tls_profile(a, false, true);  // --auth-insecure: AUTH offered without TLS
    std::string plain_ok = b64(std::string("\0alice\0secret", 13));
    std::string plain_bad = b64(std::string("\0alice\0wrong", 12));
    std::string script = "AUTH PLAIN " + plain_ok + "\r\n"                         // 503: no EHLO yet
                         "EHLO c.test\r\n"
                         "AUTH PLAIN " + plain_bad + "\r\n"                        // 535
                         "AUTH PLAIN\r\n" + plain_bad + "\r\n"                      // 334, 535
                         "AUTH LOGIN\r\n" + b64("alice") + "\r\n*\r\n"              // 334, 334, 501 cancelled
                         "AUTH LOGIN\r\n!!!!\r\n"                                  // 334, 501 base64
                         "AUTH KERBEROS_V4\r\n"                                    // 504
                         "AUTH\r\n"                                                // 501 syntax
                         "AUTH CRAM-MD5\r\n" + b64("alice bad") + "\r\n"            // 334, 535
                         "MAIL FROM:<a@x.test>\r\nAUTH PLAIN " + plain_ok + "\r\nRSET\r\n"  // 250, 503 in txn, 250
                         "AUTH LOGIN " + b64("alice") + "\r\n" + b64("secret") + "\r\n"   // 334, 235
                         "AUTH PLAIN " + plain_ok + "\r\n";                         // 503 already
    auto r = test::for_each_split(p, script);
    std::string expect = test::greeting +
        "503 5.5.1 Send EHLO or HELO first\r\n" +
        "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n" + ehlo_tail +
        "250-STARTTLS\r\n250 AUTH PLAIN LOGIN CRAM-MD5\r\n" +
        "535 5.7.8 Authentication credentials invalid\r\n" +
        "334 \r\n535 5.7.8 Authentication credentials invalid\r\n" +
        "334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n501 5.0.0 Authentication cancelled\r\n" +
        "334 VXNlcm5hbWU6\r\n501 5.5.2 Cannot decode the response\r\n" +
        "504 5.5.4 Unrecognized authentication type\r\n" +
        "501 5.5.4 Syntax: AUTH mechanism [initial-response]\r\n" +
        "334 " + b64("<1.2@mx.test>") + "\r\n535 5.7.8 Authentication credentials invalid\r\n" +
        "250 2.1.0 Sender ok\r\n503 5.5.1 AUTH is not allowed during a mail transaction\r\n250 2.0.0 Reset ok\r\n" +
        "334 UGFzc3dvcmQ6\r\n235 2.7.0 Authentication successful\r\n" +
        "503 5.5.1 Already authenticated\r\n";
    CHECK(r.output == expect);
    CHECK(a.last_challenge == "<1.2@mx.test>");
}

TEST_CASE("auth: not offered without TLS unless insecure; not configured means not implemented") {
    fake_auth a;
    auto p = tls_profile(a);
    auto r = test::for_each_split(p, "EHLO c.test\r\nAUTH PLAIN\r\n");
    CHECK(r.output.find("538 5.7.11 Encryption required for requested authentication mechanism\r\n") !=
          std::string::npos);
    auto none = test::make_profile();
    auto n = test::for_each_split(none, "EHLO c.test\r\nAUTH PLAIN\r\nSTARTTLS\r\n");
    CHECK(n.output.find("AUTH") == std::string::npos);
    CHECK(n.output.find("STARTTLS") == std::string::npos);
    CHECK(n.output.find("502 5.5.1 Command not implemented\r\n502 5.5.1 Command not implemented\r\n") !=
          std::string::npos);
}
