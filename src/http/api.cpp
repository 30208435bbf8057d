// The HTTP API's route table and handlers, and the long-poll waiters. See api.hpp and the README's HTTP section.
#include "http/api.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/serialize.hpp>
#include <cmath>

#include "http/download.hpp"
#include "http/fault_json.hpp"
#include "http/render.hpp"
#include "inspect/message.hpp"
#include "inspect/search.hpp"

namespace http {
namespace {

constexpr std::size_t default_limit = 50, max_limit = 1000;
constexpr double default_wait_s = 30, max_wait_s = 300;
constexpr method_set get = method(bhttp::verb::get), del = method(bhttp::verb::delete_),
                     post = method(bhttp::verb::post);
constexpr std::string_view page_policy =
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; "
    "frame-src 'self'; form-action 'none'";

response make(const request& req, bhttp::status s, std::string body, std::string_view type = "application/json") {
    return make_response(req, s, std::move(body), type);
}

response make(const request& req, const boost::json::value& body) {
    return make(req, bhttp::status::ok, boost::json::serialize(body));
}

response error(const request& req, bhttp::status s, std::string_view msg) {
    return make(req, s, boost::json::serialize(boost::json::object{{"error", msg}}));
}

// The captured message that a path's {id:uint} names, or nullptr.
std::shared_ptr<const sink::captured_message> message_at(const sink::capture_ring& ring, std::string_view id) {
    std::uint64_t n = 0;
    return parse_uint(id, n) ? ring.get(n) : nullptr;
}

}  // namespace

struct api::call {
    const request& req;
    const target& t;
    const std::vector<std::string_view>& args;  // the pattern's {captures}, in order
    const boost::asio::any_io_executor& ex;
    responder& done;
};

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

api::api(sink::hub& h, fault::table& faults, const metrics::exposition& m, std::string_view page,
         const lifecycle& life)
    : h_(h), faults_(faults), m_(m), page_(page), life_(life) {}

api::~api() {
    std::lock_guard lock(waiters_mutex_);
    for (const auto& w : waiters_) h_.flows.unwatch(w->flow, w->token);
}

std::span<const route<api::handler>> api::routes() {
    static const route<handler> table[] = {
        {get, "/", &api::get_page},
        {get, "/healthz", &api::get_health},
        {get, "/livez", &api::get_health},
        {get, "/readyz", &api::get_ready},
        {get, "/metrics", &api::get_metrics},
        {get, "/api/v1/flows", &api::get_flows},
        {del, "/api/v1/flows", &api::delete_flows},
        {get, "/api/v1/flows/{flow}", &api::get_flow},
        {del, "/api/v1/flows/{flow}", &api::delete_flow},
        {get, "/api/v1/flows/{flow}/wait", &api::wait_flow},
        {get, "/api/v1/messages", &api::get_messages},
        {del, "/api/v1/messages", &api::delete_messages},
        {get, "/api/v1/messages/{id:uint}", &api::get_message},
        {get, "/api/v1/messages/{id:uint}/raw", &api::get_raw},
        {get, "/api/v1/messages/{id:uint}/parts/{part}", &api::get_part},
        {get, "/api/v1/faults", &api::get_faults},
        {post, "/api/v1/faults", &api::post_faults},
        {del, "/api/v1/faults", &api::delete_faults},
        {del, "/api/v1/faults/{id:uint}", &api::delete_fault},
    };
    return table;
}

void api::handle(const request& req, const boost::asio::any_io_executor& ex, responder done) {
    auto t = parse_target(req.target());
    if (!t) return done(error(req, bhttp::status::bad_request, "bad percent-encoding in the URL"));
    std::vector<std::string_view> args;
    auto miss = bhttp::status::not_found;
    const auto* row = find_route(routes(), *t, req.method(), args, miss);
    if (!row) return done(error(req, miss, miss == bhttp::status::not_found ? "not found" : "method not allowed"));
    call c{req, *t, args, ex, done};
    (this->*row->handler)(c);
}

// The page may load nothing but its own API (no remote script, style, font or image), and the message HTML it
// shows in a frame inherits this on top of its own stricter policy.
void api::get_page(call& c) {
    auto r = make(c.req, bhttp::status::ok, std::string(page_), "text/html; charset=utf-8");
    r.set("Content-Security-Policy", page_policy);
    c.done(std::move(r));
}

void api::get_health(call& c) { c.done(make(c.req, boost::json::object{{"status", "ok"}})); }

void api::get_ready(call& c) {
    if (life_.draining.load(std::memory_order_relaxed))
        return c.done(make(c.req, bhttp::status::service_unavailable,
                           boost::json::serialize(boost::json::object{{"status", "draining"}})));
    c.done(make(c.req, boost::json::object{{"status", "ready"}}));
}

void api::get_metrics(call& c) {
    c.done(make(c.req, bhttp::status::ok, m_.text(), "text/plain; version=0.0.4; charset=utf-8"));
}

void api::get_flows(call& c) {
    boost::json::array flows;
    for (const auto& f : h_.flows.list()) flows.push_back(flow_object(f));
    c.done(make(c.req, boost::json::object{{"flows", std::move(flows)}, {"overflow", h_.flows.overflow_messages()}}));
}

void api::delete_flows(call& c) {
    h_.flows.reset_all();
    c.done(make(c.req, boost::json::object{{"reset", "all"}}));
}

void api::get_flow(call& c) { c.done(make(c.req, bhttp::status::ok, flow_json(h_.flows.get(c.args[0])))); }

void api::delete_flow(call& c) {
    h_.flows.reset(c.args[0]);
    c.done(make(c.req, boost::json::object{{"reset", "flow"}}));
}

// GET /api/v1/flows/{flow}/wait?messages=N&timeout=S: checks the parameters; api::wait answers.
void api::wait_flow(call& c) {
    std::uint64_t n = 1;
    if (auto* v = c.t.param("messages"); v && !parse_uint(*v, n))
        return c.done(error(c.req, bhttp::status::bad_request, "messages must be a whole number"));
    double secs = default_wait_s;
    if (auto* v = c.t.param("timeout")) {
        char* end = nullptr;
        secs = std::strtod(v->c_str(), &end);
        if (v->empty() || *end != '\0' || !std::isfinite(secs) || secs < 0 || secs > max_wait_s)
            return c.done(error(c.req, bhttp::status::bad_request, "timeout must be 0 to 300 seconds"));
    }
    wait(std::string(c.args[0]), n, std::chrono::milliseconds(std::llround(secs * 1000)), c.req.version(), c.ex,
         std::move(c.done));
}

// GET /api/v1/messages?flow=F&rcpt=A&from=A&subject=T&q=T&limit=N&before=ID: the search, newest first.
void api::get_messages(call& c) {
    inspect::query q;
    std::uint64_t limit = default_limit;
    if (auto* v = c.t.param("limit"); v && (!parse_uint(*v, limit) || limit == 0 || limit > max_limit))
        return c.done(error(c.req, bhttp::status::bad_request, "limit must be 1 to 1000"));
    q.limit = limit;
    if (auto* v = c.t.param("before"); v && !parse_uint(*v, q.before))
        return c.done(error(c.req, bhttp::status::bad_request, "before must be a message id"));
    const std::pair<std::string_view, std::string*> filters[] = {
        {"flow", &q.flow}, {"rcpt", &q.rcpt}, {"from", &q.from}, {"subject", &q.subject}, {"q", &q.text}};
    for (const auto& [key, field] : filters)
        if (auto* v = c.t.param(key)) *field = *v;
    inspect_off_thread(c, [this, q = std::move(q)](const request& head) {
        boost::json::array list;
        for (const auto& hit : inspect::search(h_.ring, q)) list.push_back(message_object(*hit.message, *hit.info));
        return make(head, boost::json::object{{"messages", std::move(list)}});
    });
}

void api::delete_messages(call& c) {
    auto n = h_.ring.clear();
    c.done(make(c.req, boost::json::object{{"deleted", std::uint64_t(n)}}));
}

void api::get_message(call& c) {
    auto m = message_at(h_.ring, c.args[0]);
    if (!m) return c.done(error(c.req, bhttp::status::not_found, "no such message"));
    inspect_off_thread(c, [m](const request& head) {
        return make(head, message_detail(*m, inspect::parse(m->raw.view())));
    });
}

void api::get_raw(call& c) {
    auto m = message_at(h_.ring, c.args[0]);
    if (!m) return c.done(error(c.req, bhttp::status::not_found, "no such message"));
    c.done(make(c.req, bhttp::status::ok, std::string(m->raw.view()), "message/rfc822"));
}

// GET /api/v1/messages/{id}/parts/{part}: one leaf part, its transfer encoding undone, as a download.
void api::get_part(call& c) {
    auto m = message_at(h_.ring, c.args[0]);
    if (!m) return c.done(error(c.req, bhttp::status::not_found, "no such message"));
    inspect_off_thread(c, [m, id = std::string(c.args[1])](const request& head) {
        auto p = inspect::part(m->raw.view(), id);
        if (!p) return error(head, bhttp::status::not_found, "no such part");
        auto r = make(head, bhttp::status::ok, std::move(p->data), part_content_type(p->info));
        if (auto d = part_disposition(p->info); !d.empty()) r.set(bhttp::field::content_disposition, d);
        return r;
    });
}

void api::get_faults(call& c) {
    boost::json::array list;
    for (const auto& e : *faults_.current()) list.push_back(fault_object(*e, h_.key));
    c.done(make(c.req, boost::json::object{{"faults", std::move(list)}, {"seed", faults_.seed()}}));
}

// POST /api/v1/faults: one rule or a list; all are added or, at the first bad one, none (400 naming its key).
void api::post_faults(call& c) {
    std::vector<fault::rule> rules;
    try {
        rules = rules_from_json(c.req.body());
    } catch (const fault::rule_error& e) {
        boost::json::object body{{"error", e.what()}};
        body["key"] = e.key().empty() ? boost::json::value(nullptr) : boost::json::value(e.key());
        return c.done(make(c.req, bhttp::status::bad_request, boost::json::serialize(body)));
    }
    auto ids = faults_.add(std::move(rules));
    auto now = faults_.current();
    boost::json::array id_list, added;
    for (auto id : ids) {
        id_list.push_back(id);
        for (const auto& e : *now)
            if (e->id == id) added.push_back(fault_object(*e, h_.key));  // unless already spent or deleted
    }
    c.done(make(c.req, bhttp::status::created,
                boost::json::serialize(boost::json::object{{"ids", std::move(id_list)}, {"faults", std::move(added)}})));
}

void api::delete_faults(call& c) {
    c.done(make(c.req, boost::json::object{{"deleted", std::uint64_t(faults_.clear())}}));
}

void api::delete_fault(call& c) {
    std::uint64_t id = 0;
    if (!parse_uint(c.args[0], id) || !faults_.remove(id))
        return c.done(error(c.req, bhttp::status::not_found, "no such fault rule"));
    c.done(make(c.req, boost::json::object{{"deleted", 1}}));
}

void api::inspect_off_thread(call& c, std::function<response(const request& head)> work) {
    request head;  // what make() reads of the request, copied: the request itself stays with its session
    head.version(c.req.version());
    head.keep_alive(c.req.keep_alive());
    answer_off_thread(inspection_, c.ex, std::move(c.done),
                      [work = std::move(work), head = std::move(head)] { return work(head); });
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
