// The instructions a message costs the session and its observer alone: no socket, no event loop, so that
// callgrind counts the same for the same code (the end-to-end counts of sink_cost.sh move by several percent
// with the timing of reads). Built by bench/session_cost.sh against a tree's src/, with the fault observer when
// the tree has one (with its table empty: the no-rule cost), the sink's plain observer otherwise.
// Usage: session_cost N PER_CONNECTION: N messages of 1 KiB, PER_CONNECTION to a connection (1: each its own
// connection, greeting, EHLO and QUIT included), every command and the body each its own read. Flow counting
// on (the default flow key, the flow named by the recipient's +tag), sampling off.
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "sink/sink.hpp"
#include "smtp/session.hpp"
#if __has_include("fault/observer.hpp")
#include "fault/observer.hpp"
#define SESSION_COST_FAULTS 1
#endif

namespace {

struct connection {
    explicit connection(sink::hub& h, std::uint64_t id)
#ifdef SESSION_COST_FAULTS
        : obs(h, table(), 0, "127.0.0.1:1", id),
#else
        : obs(h, 0, "127.0.0.1:1"),
#endif
          session(profile(), obs, id) {
    }
#ifdef SESSION_COST_FAULTS
    static fault::table& table() {
        static fault::table t(1);
        return t;
    }
    fault::connection_observer obs;
#else
    sink::connection_sink obs;
#endif
    smtp::session session;

    static const smtp::profile& profile() {
        static const smtp::profile p = [] {
            smtp::options o;
            o.hostname = "mx.test";
            return smtp::profile(o);
        }();
        return p;
    }
    // Feeds one read and drops the replies; returns what they held, so that nothing is optimised away.
    std::size_t read(std::string_view in) {
        auto used = session.feed(in).consumed;
        auto n = session.output().size();
        session.output_written(n);
        return used + n;
    }
};

}  // namespace

int main(int argc, char** argv) {
    const long n = argc > 1 ? std::atol(argv[1]) : 1000, per = argc > 2 ? std::atol(argv[2]) : n;
    sink::options so;
    so.sample_rate = 0;
    so.sample_first_per_flow = 0;
    sink::hub hub(so, 1);
    std::string body = "From: <load@example.test>\r\nTo: <load+f1@example.test>\r\nSubject: cost\r\n\r\n";
    while (body.size() < 1024) body += std::string(78, 'x') + "\r\n";
    body += ".\r\n";
    const std::vector<std::string> txn = {"MAIL FROM:<load@example.test>\r\n", "RCPT TO:<load+f1@example.test>\r\n",
                                          "DATA\r\n", body};
    std::size_t out = 0;
    for (long sent = 0, id = 1; sent < n; ++id) {
        auto c = std::make_unique<connection>(hub, std::uint64_t(id));
        c->session.open();
        out += c->read("EHLO client.test\r\n");
        for (long k = 0; k < per && sent < n; ++k, ++sent)
            for (const auto& r : txn) out += c->read(r);
        out += c->read("QUIT\r\n");
    }
    std::printf("%zu %llu\n", out, static_cast<unsigned long long>(hub.counters.sum().transactions));
}
