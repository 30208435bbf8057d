// The Mailpit-compatible API's route table and handlers. See mailpit.hpp and the README's "Mailpit-compatible
// API" section. Errors are as Mailpit gives them: 400 and 404 as plain text; 501 (not implemented) as JSON.
#include "http/mailpit.hpp"

#include <unistd.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <charconv>
#include <fstream>
#include <map>
#include <optional>
#include <set>

#include "cli/units.hpp"
#include "http/mailpit_render.hpp"
#include "smtp/ascii.hpp"

namespace http {
namespace {

constexpr std::int64_t default_limit = 50;  // Mailpit's page size
constexpr method_set get = method(bhttp::verb::get), del = method(bhttp::verb::delete_),
                     put = method(bhttp::verb::put), post = method(bhttp::verb::post);
constexpr std::string_view plain = "text/plain; charset=utf-8";

response json(const request& req, const boost::json::object& o) {
    return make_response(req, bhttp::status::ok, boost::json::serialize(o));
}

response text(const request& req, bhttp::status s, std::string body, std::string_view type = plain) {
    return make_response(req, s, std::move(body), type);
}

response not_found(const request& req) { return text(req, bhttp::status::not_found, "Message not found"); }

// A query parameter read as Go's strconv.Atoi reads it; nothing when absent or not a whole number.
std::optional<std::int64_t> int_param(const target& t, std::string_view key) {
    const auto* v = t.param(key);
    std::int64_t n = 0;
    if (!v || v->empty()) return std::nullopt;
    auto r = std::from_chars(v->data() + (v->front() == '+' ? 1 : 0), v->data() + v->size(), n);
    if (r.ec != std::errc{} || r.ptr != v->data() + v->size()) return std::nullopt;
    return n;
}

// The bytes the process holds in RAM (resident set), from /proc/self/statm; 0 if it cannot be read.
std::uint64_t resident_bytes() {
    std::ifstream statm("/proc/self/statm");
    std::uint64_t size = 0, resident = 0;
    if (!(statm >> size >> resident)) return 0;
    return resident * std::uint64_t(::sysconf(_SC_PAGESIZE));
}

// The HTML with each cid: reference to a part (RFC 2392) pointing at that part's download, as Mailpit does.
std::string link_parts(std::string html, std::string_view id, const inspect::message_view& v) {
    constexpr std::string_view ends = "\"' >;/)";  // what may follow a reference (else it is a longer one)
    for (const auto& p : v.parts) {
        if (p.content_id.empty() || mailpit::role(p) == mailpit::part_role::body) continue;
        const std::string from = "cid:" + p.content_id;
        const std::string to = "/api/v1/message/" + std::string(id) + "/part/" + p.id;
        for (auto at = html.find(from); at != std::string::npos; at = html.find(from, at)) {
            auto after = at + from.size();
            if (after < html.size() && ends.find(html[after]) == std::string_view::npos) {
                at = after;
                continue;
            }
            html.replace(at, from.size(), to);
            at += to.size();
        }
    }
    return html;
}

// An ID in a delete's "IDs": a string of digits (as Mailpit's IDs are strings) or a whole number.
std::optional<std::uint64_t> id_of(const boost::json::value& e) {
    std::uint64_t id = 0;
    if (e.is_string()) return parse_uint(e.as_string(), id) ? std::optional(id) : std::nullopt;
    if (e.is_uint64()) return e.as_uint64();
    if (e.is_int64() && e.as_int64() >= 0) return std::uint64_t(e.as_int64());
    return std::nullopt;
}

// 501 with Mailpit's JSON error shape, naming what is missing.
response not_implemented_response(const request& req, const std::string& what) {
    boost::json::object o{{"Error", what + " is not implemented by smtp-blackhole's Mailpit-compatible API"}};
    return make_response(req, bhttp::status::not_implemented, boost::json::serialize(o));
}

// The search query of ?query=, or nothing (then Mailpit answers 400) when it is blank.
const std::string* query_param(const target& t) {
    const auto* q = t.param("query");
    return q && !smtp::ascii::trim(*q).empty() ? q : nullptr;
}

// Mailpit's chaos triggers, in the order its JSON gives them, and where each acts here.
struct chaos_kind {
    std::string_view name;   // the JSON key
    std::string_view stage;  // the fault rule's stage
    std::string_view text;   // Mailpit's reply text after the code
};
constexpr std::array<chaos_kind, 3> chaos_kinds = {{{"Sender", "mail", "Chaos sender error"},
                                                    {"Recipient", "rcpt", "Chaos recipient error"},
                                                    {"Authentication", "auth", "Chaos authentication error"}}};

// A JSON key as Go's decoder matches a struct field: ASCII case-insensitively.
bool same_key(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
        return smtp::ascii::lower(x) == smtp::ascii::lower(y);
    });
}

// The kind of a JSON value as Go's "cannot unmarshal" message names it.
std::string go_kind(const boost::json::value& v) {
    if (v.is_string()) return "string";
    if (v.is_bool()) return "bool";
    if (v.is_array()) return "array";
    if (v.is_object()) return "object";
    return "number " + (v.is_double() ? cli::format_number(v.as_double()) : boost::json::serialize(v));
}

// One of a trigger's integers (ErrorCode, Probability) as Go decodes it into an int; null leaves it as it is.
// Throws the message Mailpit answers with (400) for anything else.
void read_int(const boost::json::value& v, std::string_view trigger, std::string_view field, std::int64_t& out) {
    if (v.is_null()) return;
    if (v.is_int64()) return void(out = v.as_int64());
    if (v.is_uint64() && v.as_uint64() <= std::uint64_t(INT64_MAX)) return void(out = std::int64_t(v.as_uint64()));
    throw std::invalid_argument("json: cannot unmarshal " + go_kind(v) + " into Go struct field Trigger." +
                                std::string(trigger) + "." + std::string(field) + " of type int");
}

}  // namespace

struct mailpit_api::call {
    const request& req;
    const target& t;
    const std::vector<std::string_view>& args;  // the pattern's {captures}, in order
    const route<handler>& row;
    responder& done;
};

mailpit_api::mailpit_api(sink::hub& h, fault::table& faults, const lifecycle& life)
    : h_(h), faults_(faults), life_(life), store_(h.ring) {}

std::span<const route<mailpit_api::handler>> mailpit_api::routes() {
    static const route<handler> table[] = {
        {get, "/livez", &mailpit_api::get_live},
        {get, "/readyz", &mailpit_api::get_ready},
        {get, "/api/v1/info", &mailpit_api::get_info},
        {get, "/api/v1/messages", &mailpit_api::get_messages},
        {del, "/api/v1/messages", &mailpit_api::delete_messages},
        {put, "/api/v1/messages", &mailpit_api::not_implemented},
        {get, "/api/v1/search", &mailpit_api::search},
        {del, "/api/v1/search", &mailpit_api::delete_search},
        {get, "/api/v1/message/{id}", &mailpit_api::get_message},
        {get, "/api/v1/message/{id}/headers", &mailpit_api::get_headers},
        {get, "/api/v1/message/{id}/raw", &mailpit_api::get_raw},
        {get, "/api/v1/message/{id}/part/{part}", &mailpit_api::get_part},
        {get, "/api/v1/message/{id}/part/{part}/thumb", &mailpit_api::not_implemented},
        {get, "/api/v1/message/{id}/html-check", &mailpit_api::not_implemented},
        {get, "/api/v1/message/{id}/link-check", &mailpit_api::not_implemented},
        {get, "/api/v1/message/{id}/sa-check", &mailpit_api::not_implemented},
        {post, "/api/v1/message/{id}/release", &mailpit_api::not_implemented},
        {post, "/api/v1/send", &mailpit_api::not_implemented},
        {get | put, "/api/v1/tags", &mailpit_api::not_implemented},
        {put | del, "/api/v1/tags/{tag}", &mailpit_api::not_implemented},
        {get, "/api/v1/chaos", &mailpit_api::get_chaos},
        {put, "/api/v1/chaos", &mailpit_api::put_chaos},
        {get, "/api/v1/webui", &mailpit_api::not_implemented},
        {get, "/api/v1/swagger.json", &mailpit_api::not_implemented},
        {get, "/api/events", &mailpit_api::not_implemented},
        {get, "/view/{file}", &mailpit_api::get_view},
    };
    return table;
}

void mailpit_api::handle(const request& req, const boost::asio::any_io_executor& ex, responder done) {
    // The probes are answered at once, never behind a slow parse on the inspection thread.
    if (req.target() == "/livez" || req.target() == "/readyz") return dispatch(req, std::move(done));
    // The request is copied: it stays with its session. Every handler answers before it returns.
    answer_off_thread(inspection_, ex, std::move(done), [this, req] {
        response out;
        dispatch(req, [&out](response r) { out = std::move(r); });
        return out;
    });
}

void mailpit_api::dispatch(const request& req, responder done) {
    auto t = parse_target(req.target(), true);  // as Go's URL.Query() reads it
    if (!t) return done(text(req, bhttp::status::bad_request, "bad percent-encoding in the URL"));
    std::vector<std::string_view> args;
    auto miss = bhttp::status::not_found;
    const auto* row = find_route(routes(), *t, req.method(), args, miss);
    if (!row) {
        if (miss == bhttp::status::not_found) return done(text(req, miss, "404 page not found"));
        return done(text(req, miss, "Method Not Allowed"));
    }
    call c{req, *t, args, *row, done};
    (this->*row->handler)(c);
}

// /livez and /readyz: Mailpit answers 200 with an empty body; /readyz 503 while the sink drains.
void mailpit_api::get_live(call& c) { c.done(text(c.req, bhttp::status::ok, "")); }

void mailpit_api::get_ready(call& c) {
    if (life_.draining.load(std::memory_order_relaxed))
        return c.done(text(c.req, bhttp::status::service_unavailable, "draining"));
    c.done(text(c.req, bhttp::status::ok, ""));
}

void mailpit_api::get_info(call& c) {
    auto all = store_.messages();
    std::map<std::string, std::uint64_t> tags;
    for (const auto& m : all) ++tags[m->flow];
    const auto totals = h_.counters.sum();
    mailpit::info i;
    i.messages = all.size();
    i.unread = store_.unread(all);
    i.bytes = h_.ring.bytes();
    i.tags.assign(tags.begin(), tags.end());
    i.uptime_s = std::uint64_t(
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_).count());
    i.memory = resident_bytes();
    i.deleted = store_.deleted();
    i.accepted = totals.transactions;
    i.accepted_bytes = totals.bytes;
    i.rejected = totals.refused();
    c.done(json(c.req, mailpit::info_json(i)));
}

void mailpit_api::get_messages(call& c) {
    auto all = store_.messages();
    answer_page(c, all, all);
}

void mailpit_api::answer_page(call& c, const std::vector<message_ptr>& all,
                              const std::vector<message_ptr>& matched) {
    const auto start = std::size_t(std::max<std::int64_t>(0, int_param(c.t, "start").value_or(0)));
    auto limit = int_param(c.t, "limit").value_or(default_limit);
    if (limit < 0) limit = default_limit;  // Mailpit takes 0 and up; 0 is every message
    const auto end = limit == 0 ? matched.size() : std::min(matched.size(), start + std::size_t(limit));
    boost::json::array page;
    for (auto i = start; i < end; ++i) {
        const auto& m = *matched[i];
        page.push_back(mailpit::summary_json(m, *store_.summary_of(m), store_.is_read(m.id)));
    }
    mailpit::list_counts n;
    n.total = all.size();
    n.unread = store_.unread(all);
    n.matched = matched.size();
    n.matched_unread = &all == &matched ? n.unread : store_.unread(matched);
    n.start = start;
    std::set<std::string> tags;
    for (const auto& m : all) tags.insert(m->flow);
    n.tags.assign(tags.begin(), tags.end());
    c.done(json(c.req, mailpit::list_json(n, std::move(page))));
}

// DELETE /api/v1/messages: {"IDs": ["1", ...]} deletes those (numbers are taken too; unknown IDs are skipped);
// no body, or no IDs, deletes every message.
void mailpit_api::delete_messages(call& c) {
    std::vector<std::uint64_t> ids;
    bool all = true;
    if (!smtp::ascii::trim(c.req.body()).empty()) {
        boost::system::error_code ec;
        auto v = boost::json::parse(c.req.body(), ec);
        if (ec) return c.done(text(c.req, bhttp::status::bad_request, "invalid JSON body: " + ec.message()));
        const auto* list = v.is_object() ? v.as_object().if_contains("IDs") : nullptr;
        if (list && list->is_array() && !list->as_array().empty()) {
            all = false;
            for (const auto& e : list->as_array())
                if (auto id = id_of(e)) ids.push_back(*id);
        }
    }
    if (all)
        store_.clear();
    else
        store_.remove(ids);
    c.done(text(c.req, bhttp::status::ok, "ok"));
}

std::vector<mailpit_api::message_ptr> mailpit_api::matching(const mailpit::search_query& q,
                                                            const std::vector<message_ptr>& all) {
    std::vector<message_ptr> out;
    for (const auto& m : all)
        if (mailpit::matches(q, *store_.summary_of(*m), m->flow, store_.is_read(m->id))) out.push_back(m);
    return out;
}

std::optional<mailpit::search_query> mailpit_api::search_of(call& c) {
    const auto* q = query_param(c.t);
    if (!q) {
        c.done(text(c.req, bhttp::status::bad_request, "Error: no search query"));
        return std::nullopt;
    }
    auto query = mailpit::parse_query(*q);
    if (query.unsupported.empty()) return query;
    c.done(not_implemented_response(c.req, "the search filter " + query.unsupported));
    return std::nullopt;
}

void mailpit_api::search(call& c) {
    auto query = search_of(c);
    if (!query) return;
    auto all = store_.messages();
    answer_page(c, all, matching(*query, all));
}

void mailpit_api::delete_search(call& c) {
    auto query = search_of(c);
    if (!query) return;
    std::vector<std::uint64_t> ids;
    for (const auto& m : matching(*query, store_.messages())) ids.push_back(m->id);
    store_.remove(ids);
    c.done(text(c.req, bhttp::status::ok, "ok"));
}

mailpit_api::message_ptr mailpit_api::resolve(const call& c, std::string_view id) {
    if (id != "latest") {
        std::uint64_t n = 0;
        return parse_uint(id, n) ? store_.find(n) : nullptr;
    }
    auto all = store_.messages();
    if (const auto* q = query_param(c.t)) all = matching(mailpit::parse_query(*q), all);
    return all.empty() ? nullptr : all.front();
}

// GET /api/v1/message/{ID}: the message, which is marked read.
void mailpit_api::get_message(call& c) {
    auto m = resolve(c, c.args[0]);
    if (!m) return c.done(not_found(c.req));
    auto v = inspect::parse(m->raw.view());
    auto s = store_.summary_of(*m, &v);
    store_.mark_read(m->id);
    c.done(json(c.req, mailpit::message_json(*m, v, *s)));
}

void mailpit_api::get_headers(call& c) {
    auto m = resolve(c, c.args[0]);
    if (!m) return c.done(not_found(c.req));
    c.done(json(c.req, mailpit::headers_json(m->raw.view())));
}

void mailpit_api::get_raw(call& c) {
    auto m = resolve(c, c.args[0]);
    if (!m) return c.done(not_found(c.req));
    c.done(text(c.req, bhttp::status::ok, std::string(m->raw.view())));
}

// GET /api/v1/message/{ID}/part/{PartID}: the part's decoded bytes with its Content-Type.
void mailpit_api::get_part(call& c) {
    auto m = resolve(c, c.args[0]);
    if (!m) return c.done(not_found(c.req));
    auto p = inspect::part(m->raw.view(), c.args[1]);
    if (!p) return c.done(text(c.req, bhttp::status::not_found, "Message part not found"));
    auto name = p->info.filename.empty() ? p->info.content_id : p->info.filename;
    auto r = text(c.req, bhttp::status::ok, std::move(p->data), p->info.content_type);
    r.set(bhttp::field::content_disposition,
          "inline; filename=\"" + boost::urls::encode(name, boost::urls::unreserved_chars) + "\"");
    c.done(std::move(r));
}

// GET /view/{ID}.html, .txt or .raw: the HTML body (cid: links to its parts), the text body, the source.
void mailpit_api::get_view(call& c) {
    const std::string_view file = c.args[0];
    const auto dot = file.rfind('.');
    const auto kind = dot == std::string_view::npos ? std::string_view() : file.substr(dot + 1);
    if (kind != "html" && kind != "txt" && kind != "raw")
        return c.done(text(c.req, bhttp::status::not_found, "404 page not found"));
    auto m = resolve(c, file.substr(0, dot));
    if (!m) return c.done(not_found(c.req));
    if (kind == "raw") return c.done(text(c.req, bhttp::status::ok, std::string(m->raw.view())));
    auto v = inspect::parse(m->raw.view());
    if (kind == "txt") return c.done(text(c.req, bhttp::status::ok, std::move(v.text)));
    if (v.html.empty())
        return c.done(text(c.req, bhttp::status::not_found, "This message does not contain a HTML part"));
    c.done(text(c.req, bhttp::status::ok, link_parts(std::move(v.html), std::to_string(m->id), v),
                "text/html; charset=utf-8"));
}

boost::json::object mailpit_api::chaos_json() {
    auto now = faults_.current();
    boost::json::object o;
    for (std::size_t i = 0; i < chaos_kinds.size(); ++i) {
        auto& t = chaos_[i];
        if (t.rule && std::none_of(now->begin(), now->end(), [&](const auto& e) { return e->id == t.rule; }))
            t.rule = 0, t.probability = 0;  // deleted through /api/v1/faults: off, as GET /api/v1/faults shows
        o[chaos_kinds[i].name] = boost::json::object{{"ErrorCode", t.code}, {"Probability", t.probability}};
    }
    return o;
}

// GET /api/v1/chaos: the three triggers. Chaos is always enabled here (Mailpit needs --enable-chaos).
void mailpit_api::get_chaos(call& c) { c.done(json(c.req, chaos_json())); }

// PUT /api/v1/chaos: sets all three triggers, as Mailpit does: one left out is reset (its default code, 0%), an
// ErrorCode of 0 is the default. Each trigger with a probability is one fault rule (stage mail, rcpt or auth,
// the code, Mailpit's reply text, probability percent/100) that replaces the rule this API added before; rules
// added through /api/v1/faults are not touched. A bad trigger answers 400 with Mailpit's message and changes
// nothing (Mailpit keeps the triggers before it).
void mailpit_api::put_chaos(call& c) {
    constexpr std::array<std::int64_t, 3> defaults = {451, 451, 535};
    std::array<std::int64_t, 3> code = defaults, probability = {0, 0, 0};
    auto bad = [&](const std::string& why) { c.done(text(c.req, bhttp::status::bad_request, why)); };
    boost::system::error_code ec;
    auto body = boost::json::parse(c.req.body(), ec);
    if (ec) return bad("invalid JSON body: " + ec.message());
    if (!body.is_object() && !body.is_null())
        return bad("json: cannot unmarshal " + go_kind(body) + " into Go value of type chaos.Triggers");
    try {
        for (const auto& [key, value] : body.is_object() ? body.as_object() : boost::json::object{}) {
            for (std::size_t i = 0; i < chaos_kinds.size(); ++i) {
                const auto name = chaos_kinds[i].name;
                if (!same_key(key, name) || value.is_null()) continue;
                if (!value.is_object())
                    throw std::invalid_argument("json: cannot unmarshal " + go_kind(value) +
                                                " into Go struct field Triggers." + std::string(name) +
                                                " of type chaos.Trigger");
                for (const auto& [field, v] : value.as_object()) {
                    if (same_key(field, "ErrorCode")) read_int(v, name, "ErrorCode", code[i]);
                    if (same_key(field, "Probability")) read_int(v, name, "Probability", probability[i]);
                }
            }
        }
    } catch (const std::invalid_argument& e) {
        return bad(e.what());
    }
    for (std::size_t i = 0; i < chaos_kinds.size(); ++i) {
        if (code[i] == 0) code[i] = defaults[i];
        if (code[i] < 400 || code[i] > 599) return bad("error code must be between 400 and 599");
        if (probability[i] < 0 || probability[i] > 100) return bad("probability must be between 0 and 100");
    }
    std::vector<fault::rule> rules;
    std::vector<std::size_t> owner;  // the trigger of each rule
    for (std::size_t i = 0; i < chaos_kinds.size(); ++i) {
        if (probability[i] == 0) continue;
        rules.push_back(fault::validate({{"stage", std::string(chaos_kinds[i].stage)},
                                         {"code", std::to_string(code[i])},
                                         {"text", std::string(chaos_kinds[i].text)},
                                         {"probability", cli::format_number(double(probability[i]) / 100)}}));
        owner.push_back(i);
    }
    for (auto& t : chaos_)
        if (t.rule) faults_.remove(t.rule);  // false when already deleted through /api/v1/faults
    auto ids = faults_.add(std::move(rules));
    for (std::size_t i = 0; i < chaos_kinds.size(); ++i)
        chaos_[i] = {static_cast<unsigned short>(code[i]), probability[i], 0};
    for (std::size_t k = 0; k < ids.size(); ++k) chaos_[owner[k]].rule = ids[k];
    c.done(json(c.req, chaos_json()));
}

// A Mailpit endpoint this daemon does not have: 501 naming it.
void mailpit_api::not_implemented(call& c) {
    c.done(not_implemented_response(c.req, std::string(bhttp::to_string(c.req.method())) + " " +
                                               std::string(c.row.pattern)));
}

}  // namespace http
