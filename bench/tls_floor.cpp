// The TLS floor: what OpenSSL itself costs per connection, with no server around it. One process, one thread, a
// client and a server SSL object joined by a memory BIO pair (no sockets, no event loop, no SMTP): CPU time of
// each side's own OpenSSL calls (the thread's CPU clock around each call), for
//   - one handshake, full or resumed (TLS 1.2 by ticket or by session id, TLS 1.3 by PSK ticket), followed by a
//     greeting the server writes and the client reads (so that a TLS 1.3 client takes its ticket), and the
//     close_notify each side sends; SSL_new and SSL_free included: what a connection costs OpenSSL;
//   - one pipelined SMTP message over an established session: the client writes MAIL, RCPT and DATA in one record,
//     the server reads it and writes its three replies in one record, the client writes a 1 KiB body, the server
//     reads it and writes its 250: what a message costs OpenSSL's record layer.
// A measuring stick, like bench/floor.cpp: a server that does anything at all costs more.
//
// Usage: tls_floor CERT KEY SECONDS   prints one tab-separated row per case:
//   case  proto  kind  count  resumed  server_ns_per  client_ns_per
// Exits 1 if a case failed (a handshake that did not finish, a resumption that did not happen).
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

namespace {

long long thread_ns() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<long long>(t.tv_sec) * 1000000000LL + t.tv_nsec;
}

// CPU time of one side, added up call by call.
struct side {
    long long ns = 0;
    template <class F>
    auto operator()(F&& f) {
        long long t0 = thread_ns();
        auto r = f();
        ns += thread_ns() - t0;
        return r;
    }
};

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "tls_floor: %s\n", what);
    ERR_print_errors_fp(stderr);
    std::exit(1);
}

struct pair {
    SSL* client = nullptr;
    SSL* server = nullptr;
};

// Both ends of one connection: SSL_new on each side, joined by a BIO pair.
pair open_pair(SSL_CTX* cctx, SSL_CTX* sctx, side& c, side& s, SSL_SESSION* resume) {
    pair p;
    p.client = c([&] { return SSL_new(cctx); });
    p.server = s([&] { return SSL_new(sctx); });
    if (p.client == nullptr || p.server == nullptr) fail("SSL_new");
    BIO* a = nullptr;
    BIO* b = nullptr;
    if (BIO_new_bio_pair(&a, 0, &b, 0) != 1) fail("BIO_new_bio_pair");
    SSL_set_bio(p.client, a, a);
    SSL_set_bio(p.server, b, b);
    SSL_set_connect_state(p.client);
    SSL_set_accept_state(p.server);
    if (resume != nullptr && SSL_set_session(p.client, resume) != 1) fail("SSL_set_session");
    return p;
}

// Drives both handshakes to their end, then the server's greeting to the client.
void handshake(pair& p, side& c, side& s) {
    for (int round = 0;; ++round) {
        if (round == 20) fail("handshake did not finish in 20 rounds");
        int rc = c([&] { return SSL_do_handshake(p.client); });
        int rs = s([&] { return SSL_do_handshake(p.server); });
        if (rc == 1 && rs == 1) break;
    }
    static const char greeting[] = "220 floor.test ESMTP\r\n";
    char buf[256];
    if (s([&] { return SSL_write(p.server, greeting, sizeof greeting - 1); }) <= 0) fail("greeting write");
    if (c([&] { return SSL_read(p.client, buf, sizeof buf); }) <= 0) fail("greeting read");
}

void close_pair(pair& p, side& c, side& s) {
    c([&] { return SSL_shutdown(p.client); });
    s([&] { return SSL_shutdown(p.server); });
    c([&] { return SSL_shutdown(p.client); });  // reads the server's close_notify
    s([&] { SSL_free(p.server); return 0; });
    c([&] { SSL_free(p.client); return 0; });
}

// Reads exactly n bytes (the other side wrote them in one record or several).
void read_all(SSL* ssl, side& who, char* buf, int n) {
    for (int got = 0; got < n;) {
        int r = who([&] { return SSL_read(ssl, buf + got, n - got); });
        if (r <= 0) fail("SSL_read");
        got += r;
    }
}

void write_all(SSL* ssl, side& who, const char* buf, int n) {
    if (who([&] { return SSL_write(ssl, buf, n); }) != n) fail("SSL_write");
}

SSL_CTX* make_ctx(bool server, const char* cert, const char* key, int version) {
    SSL_CTX* ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    if (ctx == nullptr) fail("SSL_CTX_new");
    SSL_CTX_set_min_proto_version(ctx, version);
    SSL_CTX_set_max_proto_version(ctx, version);
    if (server) {
        if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
            SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
            fail("certificate or key");
        // As the daemon: a server-side session cache (TLS 1.2 ids), one TLS 1.3 ticket per handshake.
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
        static const unsigned char id_context[] = "tls_floor";
        SSL_CTX_set_session_id_context(ctx, id_context, sizeof id_context - 1);
        SSL_CTX_set_num_tickets(ctx, 1);
    }
    return ctx;
}

// Handshakes for about `seconds` of this thread's CPU: kind "full", "ticket" or "id".
void handshakes(const char* cert, const char* key, int version, const std::string& kind, double seconds) {
    SSL_CTX* sctx = make_ctx(true, cert, key, version);
    SSL_CTX* cctx = make_ctx(false, cert, key, version);
    if (kind == "id") SSL_CTX_set_options(sctx, SSL_OP_NO_TICKET);
    side c;
    side s;
    SSL_SESSION* session = nullptr;
    long long count = 0;
    long long resumed = 0;
    long long start = thread_ns();
    // The first connection (full) gives the session the resumed ones offer; it is not counted.
    for (bool first = true; thread_ns() - start < static_cast<long long>(seconds * 1e9); first = false) {
        side fc;
        side fs;
        side& cc = first ? fc : c;
        side& ss = first ? fs : s;
        pair p = open_pair(cctx, sctx, cc, ss, kind == "full" ? nullptr : session);
        handshake(p, cc, ss);
        if (!first) {
            ++count;
            if (SSL_session_reused(p.client) == 1) ++resumed;
        }
        if (kind != "full") {
            // The client keeps the newest session it was given, as the load generator does.
            SSL_SESSION* latest = SSL_get1_session(p.client);
            if (session != nullptr) SSL_SESSION_free(session);
            session = latest;
        }
        close_pair(p, cc, ss);
    }
    if (session != nullptr) SSL_SESSION_free(session);
    std::printf("handshake\t%s\t%s\t%lld\t%lld\t%lld\t%lld\n", version == TLS1_3_VERSION ? "1.3" : "1.2",
                kind.c_str(), count, resumed, s.ns / (count ? count : 1), c.ns / (count ? count : 1));
    SSL_CTX_free(sctx);
    SSL_CTX_free(cctx);
    if (count == 0 || (kind != "full" && resumed != count)) {
        std::fprintf(stderr, "tls_floor: TLS %s %s: %lld handshakes, %lld resumed\n",
                     version == TLS1_3_VERSION ? "1.3" : "1.2", kind.c_str(), count, resumed);
        std::exit(1);
    }
}

// Pipelined 1 KiB messages over one established session for about `seconds`.
void messages(const char* cert, const char* key, int version, double seconds) {
    SSL_CTX* sctx = make_ctx(true, cert, key, version);
    SSL_CTX* cctx = make_ctx(false, cert, key, version);
    side setup_c;
    side setup_s;
    pair p = open_pair(cctx, sctx, setup_c, setup_s, nullptr);
    handshake(p, setup_c, setup_s);
    static const char envelope[] = "MAIL FROM:<loadgen@loadgen.test>\r\nRCPT TO:<rcpt0@sink.test>\r\nDATA\r\n";
    static const char replies[] = "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n";
    static const char accepted[] = "250 2.0.0 Ok: queued\r\n";
    std::string body(1024 - 5, 'x');
    for (std::size_t i = 76; i < body.size(); i += 78) body[i - 1] = '\r', body[i] = '\n';
    body += "\r\n.\r\n";
    char buf[2048];
    side c;
    side s;
    long long count = 0;
    long long start = thread_ns();
    while (thread_ns() - start < static_cast<long long>(seconds * 1e9)) {
        write_all(p.client, c, envelope, sizeof envelope - 1);
        read_all(p.server, s, buf, sizeof envelope - 1);
        write_all(p.server, s, replies, sizeof replies - 1);
        read_all(p.client, c, buf, sizeof replies - 1);
        write_all(p.client, c, body.data(), static_cast<int>(body.size()));
        read_all(p.server, s, buf, static_cast<int>(body.size()));
        write_all(p.server, s, accepted, sizeof accepted - 1);
        read_all(p.client, c, buf, sizeof accepted - 1);
        ++count;
    }
    std::printf("message\t%s\t1KiB\t%lld\t0\t%lld\t%lld\n", version == TLS1_3_VERSION ? "1.3" : "1.2", count,
                s.ns / count, c.ns / count);
    close_pair(p, setup_c, setup_s);
    SSL_CTX_free(sctx);
    SSL_CTX_free(cctx);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: tls_floor CERT KEY SECONDS\n");
        return 2;
    }
    const char* cert = argv[1];
    const char* key = argv[2];
    double seconds = std::atof(argv[3]);
    if (seconds <= 0) fail("SECONDS must be positive");
    std::printf("case\tproto\tkind\tcount\tresumed\tserver_ns_per\tclient_ns_per\n");
    handshakes(cert, key, TLS1_2_VERSION, "full", seconds);
    handshakes(cert, key, TLS1_2_VERSION, "ticket", seconds);
    handshakes(cert, key, TLS1_2_VERSION, "id", seconds);
    handshakes(cert, key, TLS1_3_VERSION, "full", seconds);
    handshakes(cert, key, TLS1_3_VERSION, "ticket", seconds);
    messages(cert, key, TLS1_2_VERSION, seconds);
    messages(cert, key, TLS1_3_VERSION, seconds);
    return 0;
}
