// Routes of the HTTP API. See api.hpp and the README's HTTP section.
#include "http/api.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <charconv>
#include <cmath>

#include "http/json.hpp"
#include "sink/header.hpp"

namespace http {
namespace {

constexpr std::size_t default_limit = 50, max_limit = 1000;
constexpr double default_wait_s = 30, max_wait_s = 300;

response make(const request& req, bhttp::status s, std::string body, std::string_view type = "application/json") {
    response r{s, req.version()};
    r.set(bhttp::field::content_type, type);
    r.set(bhttp::field::cache_control, "no-store");
    r.keep_alive(req.keep_alive());
    r.body() = std::move(body);
    r.prepare_payload();
    return r;
}

response error(const request& req, bhttp::status s, std::string_view msg) {
    json::writer w;
    w.begin_object().key("error").value(msg).end_object();
    return make(req, s, w.take());
}

int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Percent-decoding (RFC 3986 2.1); '+' is a plus. False on a bad escape.
bool decode(std::string_view in, std::string& out) {
    out.clear();
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] != '%') {
            out += in[i];
            continue;
        }
        if (i + 2 >= in.size() || hex(in[i + 1]) < 0 || hex(in[i + 2]) < 0) return false;
        out += char(hex(in[i + 1]) * 16 + hex(in[i + 2]));
        i += 2;
    }
    return true;
}

struct target {
    std::vector<std::string> path;  // decoded segments
    std::vector<std::pair<std::string, std::string>> query;
    bool ok = true;
    const std::string* param(std::string_view k) const {
        for (const auto& [key, v] : query)
            if (key == k) return &v;
        return nullptr;
    }
};

target parse_target(std::string_view t) {
    target r;
    auto q = t.find('?');
    auto path = t.substr(0, q);
    auto query = q == std::string_view::npos ? std::string_view{} : t.substr(q + 1);
    std::string seg;
    while (!path.empty()) {
        if (path.front() == '/') {
            path.remove_prefix(1);
            continue;
        }
        auto slash = path.find('/');
        if (!decode(path.substr(0, slash), seg)) r.ok = false;
        r.path.push_back(seg);
        path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash);
    }
    while (!query.empty()) {
        auto amp = query.find('&');
        auto item = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        if (item.empty()) continue;
        auto eq = item.find('=');
        std::string k, v;
        if (!decode(item.substr(0, eq), k) || !decode(eq == std::string_view::npos ? "" : item.substr(eq + 1), v))
            r.ok = false;
        r.query.emplace_back(std::move(k), std::move(v));
    }
    return r;
}

bool parse_uint(const std::string& s, std::uint64_t& out) {
    auto r = std::from_chars(s.data(), s.data() + s.size(), out);
    return r.ec == std::errc{} && r.ptr == s.data() + s.size() && !s.empty();
}

void write_flow(json::writer& w, const sink::flow_view& f) {
    w.begin_object();
    w.key("flow").value(f.name);
    w.key("seen").value(f.seen);
    w.key("messages").value(f.messages);
    w.key("recipients").value(f.recipients);
    w.key("bytes").value(f.bytes);
    w.key("refused").value(f.refused);
    w.key("refused_by_code").begin_object();
    for (const auto& [code, n] : f.refused_by_code) w.key(std::to_string(code)).value(n);
    w.end_object();
    w.key("first_seen").time_ms(f.first_seen_ms);
    w.key("last_seen").time_ms(f.last_seen_ms);
    w.end_object();
}

std::string flow_json(const sink::flow_view& f) {
    json::writer w;
    write_flow(w, f);
    return w.take();
}

void write_message(json::writer& w, const sink::captured_message& m, bool with_headers) {
    w.begin_object();
    w.key("id").value(m.id);
    w.key("received_at").time_ms(m.received_ms);
    w.key("flow").value(m.flow);
    w.key("mail_from").value(m.mail_from);
    w.key("rcpt_to").begin_array();
    for (const auto& r : m.rcpt_to) w.value(r);
    w.end_array();
    w.key("size").value(m.size);
    w.key("subject").value(m.subject);
    w.key("client").value(m.client);
    w.key("helo").value(m.helo);
    w.key("tls");
    if (m.tls.empty()) w.null(); else w.value(m.tls);
    w.key("truncated").value(m.truncated);
    if (with_headers) {
        w.key("headers").begin_array();
        for (const auto& [name, value] : sink::header_fields(m.raw))
            w.begin_object().key("name").value(name).key("value").value(value).end_object();
        w.end_array();
    }
    w.end_object();
}

}  // namespace

struct api::waiter {
    waiter(const boost::asio::any_io_executor& ex, responder d) : timer(ex), done(std::move(d)) {}
    std::string flow;
    std::uint64_t n = 0;
    unsigned version = 11;
    boost::asio::steady_timer timer;
    responder done;
    std::uint64_t token = 0;  // its registration with the flow table (watch)
    std::atomic<bool> check_pending{false};
    bool finished = false;  // only touched on the waiter's executor
};

api::api(sink::hub& h, const metrics::exposition& m, std::string_view page) : h_(h), m_(m), page_(page) {}

api::~api() {
    std::lock_guard lock(waiters_mutex_);
    for (const auto& w : waiters_) h_.flows.unwatch(w->flow, w->token);
}

void api::handle(const request& req, const boost::asio::any_io_executor& ex, responder done) {
    auto t = parse_target(req.target());
    if (!t.ok) return done(error(req, bhttp::status::bad_request, "bad percent-encoding in the URL"));
    const auto& p = t.path;
    auto method = req.method();
    auto only = [&](std::initializer_list<bhttp::verb> allowed) {
        for (auto v : allowed)
            if (v == method) return true;
        return false;
    };
    auto not_allowed = [&] { return done(error(req, bhttp::status::method_not_allowed, "method not allowed")); };

    if (p.empty()) {
        if (!only({bhttp::verb::get})) return not_allowed();
        return done(make(req, bhttp::status::ok, std::string(page_), "text/html; charset=utf-8"));
    }
    if (p.size() == 1 && p[0] == "healthz") {
        if (!only({bhttp::verb::get})) return not_allowed();
        return done(make(req, bhttp::status::ok, "{\"status\":\"ok\"}"));
    }
    if (p.size() == 1 && p[0] == "metrics") {
        if (!only({bhttp::verb::get})) return not_allowed();
        return done(make(req, bhttp::status::ok, m_.text(), "text/plain; version=0.0.4; charset=utf-8"));
    }
    if (p.size() < 3 || p[0] != "api" || p[1] != "v1") return done(error(req, bhttp::status::not_found, "not found"));

    if (p[2] == "flows") {
        if (p.size() == 3) {
            if (method == bhttp::verb::delete_) {
                h_.flows.reset_all();
                return done(make(req, bhttp::status::ok, "{\"reset\":\"all\"}"));
            }
            if (!only({bhttp::verb::get})) return not_allowed();
            json::writer w;
            w.begin_object().key("flows").begin_array();
            for (const auto& f : h_.flows.list()) write_flow(w, f);
            w.end_array().key("overflow").value(h_.flows.overflow_messages()).end_object();
            return done(make(req, bhttp::status::ok, w.take()));
        }
        const auto& flow = p[3];
        if (p.size() == 4) {
            if (method == bhttp::verb::delete_) {
                h_.flows.reset(flow);
                return done(make(req, bhttp::status::ok, "{\"reset\":\"flow\"}"));
            }
            if (!only({bhttp::verb::get})) return not_allowed();
            return done(make(req, bhttp::status::ok, flow_json(h_.flows.get(flow))));
        }
        if (p.size() == 5 && p[4] == "wait") {
            if (!only({bhttp::verb::get})) return not_allowed();
            std::uint64_t n = 1;
            if (auto* v = t.param("messages"); v && !parse_uint(*v, n))
                return done(error(req, bhttp::status::bad_request, "messages must be a whole number"));
            double secs = default_wait_s;
            if (auto* v = t.param("timeout")) {
                char* end = nullptr;
                secs = std::strtod(v->c_str(), &end);
                if (v->empty() || *end != '\0' || !std::isfinite(secs) || secs < 0 || secs > max_wait_s)
                    return done(error(req, bhttp::status::bad_request, "timeout must be 0 to 300 seconds"));
            }
            return wait(flow, n, std::chrono::milliseconds(std::llround(secs * 1000)), req.version(), ex,
                        std::move(done));
        }
        return done(error(req, bhttp::status::not_found, "not found"));
    }

    if (p[2] == "messages") {
        if (p.size() == 3) {
            if (method == bhttp::verb::delete_) {
                auto n = h_.ring.clear();
                json::writer w;
                w.begin_object().key("deleted").value(std::uint64_t(n)).end_object();
                return done(make(req, bhttp::status::ok, w.take()));
            }
            if (!only({bhttp::verb::get})) return not_allowed();
            std::uint64_t limit = default_limit;
            if (auto* v = t.param("limit"); v && (!parse_uint(*v, limit) || limit == 0 || limit > max_limit))
                return done(error(req, bhttp::status::bad_request, "limit must be 1 to 1000"));
            auto* flow = t.param("flow");
            json::writer w;
            w.begin_object().key("messages").begin_array();
            for (const auto& m : h_.ring.list(flow ? *flow : "", limit)) write_message(w, *m, false);
            w.end_array().end_object();
            return done(make(req, bhttp::status::ok, w.take()));
        }
        std::uint64_t id = 0;
        if (!parse_uint(p[3], id)) return done(error(req, bhttp::status::not_found, "no such message"));
        if (p.size() > 5 || (p.size() == 5 && p[4] != "raw"))
            return done(error(req, bhttp::status::not_found, "not found"));
        if (!only({bhttp::verb::get})) return not_allowed();
        auto m = h_.ring.get(id);
        if (!m) return done(error(req, bhttp::status::not_found, "no such message"));
        if (p.size() == 5) return done(make(req, bhttp::status::ok, std::string(m->raw.view()), "message/rfc822"));
        json::writer w;
        write_message(w, *m, true);
        return done(make(req, bhttp::status::ok, w.take()));
    }
    return done(error(req, bhttp::status::not_found, "not found"));
}

void api::wait(const std::string& flow, std::uint64_t n, std::chrono::milliseconds timeout, unsigned version,
               const boost::asio::any_io_executor& ex, responder done) {
    auto w = std::make_shared<waiter>(ex, std::move(done));
    w->flow = flow;
    w->n = n;
    w->version = version;
    {
        std::lock_guard lock(waiters_mutex_);
        waiters_.push_back(w);
        // From here on every message counted under the flow wakes us: none can slip past the check below.
        w->token = h_.flows.watch(flow, [this, w] { wake(w); });
    }
    if (h_.flows.get(flow).messages >= n) return finish(w, true);
    w->timer.expires_after(timeout);
    w->timer.async_wait([this, w](const boost::system::error_code& ec) {
        if (!ec) finish(w, false);
    });
}

// From a worker thread, after a message of the waiter's flow was counted: check on the waiter's executor.
void api::wake(const std::shared_ptr<waiter>& w) {
    if (w->check_pending.exchange(true)) return;  // a check is already on its way
    boost::asio::post(w->timer.get_executor(), [this, w] {
        w->check_pending = false;
        if (!w->finished && h_.flows.get(w->flow).messages >= w->n) finish(w, true);
    });
}

void api::finish(const std::shared_ptr<waiter>& w, bool reached) {
    if (w->finished) return;
    w->finished = true;
    w->timer.cancel();
    {
        std::lock_guard lock(waiters_mutex_);
        h_.flows.unwatch(w->flow, w->token);
        std::erase(waiters_, w);
    }
    request req;
    req.version(w->version);
    req.keep_alive(true);
    w->done(make(req, reached ? bhttp::status::ok : bhttp::status::request_timeout, flow_json(h_.flows.get(w->flow))));
}

void api::cancel_waits() {
    std::vector<std::shared_ptr<waiter>> all;
    {
        std::lock_guard lock(waiters_mutex_);
        all = waiters_;
    }
    for (const auto& w : all) boost::asio::post(w->timer.get_executor(), [this, w] { finish(w, false); });
}

}  // namespace http
