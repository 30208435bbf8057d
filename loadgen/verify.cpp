// The HTTP client of --verify and --reset (Boost.Beast, synchronous, bounded by socket timeouts; the URL read and
// made with Boost.URL, the answer read with Boost.JSON, counts as exact integers). See verify.hpp.
#include "verify.hpp"

#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <stdexcept>

namespace loadgen {
namespace {

namespace http = boost::beast::http;
namespace json = boost::json;
namespace urls = boost::urls;
using tcp = boost::asio::ip::tcp;

constexpr int http_timeout_seconds = 10;
constexpr std::size_t max_body = 64 * 1024 * 1024;  // the flow table is bounded (--max-flows) so this is ample

// The flows URL of a sink given as http://HOST:PORT (any path is replaced): http://HOST:PORT/api/v1/flows.
urls::url flows_url(const std::string& sink) {
    auto parsed = urls::parse_uri(sink);
    if (!parsed || parsed->scheme_id() != urls::scheme::http || parsed->encoded_host().empty())
        throw std::runtime_error("bad URL " + sink);
    urls::url u(*parsed);
    u.remove_userinfo();
    u.set_encoded_path("/api/v1/flows");
    u.remove_query();
    u.remove_fragment();
    return u;
}

// The body of a 200 answer to `method` on the sink's flows URL.
std::string request(const std::string& sink, http::verb method) {
    const urls::url url = flows_url(sink);
    const std::string what = std::string(http::to_string(method)) + " " + std::string(url.buffer());
    boost::asio::io_context io;
    tcp::socket sock(io);
    boost::system::error_code ec;
    tcp::resolver resolver(io);
    auto eps = resolver.resolve(url.host_address(), url.port().empty() ? "80" : std::string(url.port()), ec);
    if (!ec) boost::asio::connect(sock, eps, ec);
    if (ec) throw std::runtime_error("cannot reach " + sink + ": " + ec.message());
    timeval tv{http_timeout_seconds, 0};
    ::setsockopt(sock.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(sock.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    http::request<http::empty_body> req(method, url.encoded_target(), 11);
    req.set(http::field::host, url.encoded_host_and_port());
    req.set(http::field::connection, "close");
    http::write(sock, req, ec);
    boost::beast::flat_buffer buf;
    http::response_parser<http::string_body> parser;
    parser.body_limit(max_body);
    if (!ec) http::read(sock, buf, parser, ec);
    if (ec) throw std::runtime_error(what + " failed: " + ec.message());
    auto& res = parser.get();
    if (res.result_int() != 200) throw std::runtime_error(what + " answered " + std::to_string(res.result_int()));
    return std::move(res.body());
}

// A count as the sink writes it, a JSON integer from 0 to 2^64-1, read exactly (never through a double).
bool read_count(const json::value& v, std::uint64_t& out) {
    if (v.is_uint64()) out = v.get_uint64();
    else if (v.is_int64() && v.get_int64() >= 0) out = static_cast<std::uint64_t>(v.get_int64());
    else return false;
    return true;
}

// The per-flow message counts of a GET /api/v1/flows answer; `where` names it in errors.
flow_counts parse_flows(std::string_view body, const std::string& where) {
    boost::system::error_code ec;
    json::value doc = json::parse(body, ec);
    if (ec) throw std::runtime_error(where + ": bad JSON (" + ec.message() + ")");
    const json::object* top = doc.if_object();
    const json::value* flows = top ? top->if_contains("flows") : nullptr;
    if (!flows || !flows->is_array()) throw std::runtime_error(where + ": no \"flows\" array");
    flow_counts out;
    for (const auto& f : flows->get_array()) {
        const json::object* o = f.if_object();
        const json::value* name = o ? o->if_contains("flow") : nullptr;
        const json::value* messages = o ? o->if_contains("messages") : nullptr;
        std::uint64_t n = 0;
        if (!name || !name->is_string() || !messages || !read_count(*messages, n))
            throw std::runtime_error(where + ": a flow without \"flow\" or \"messages\"");
        out.messages[std::string(name->get_string())] += n;
    }
    if (const json::value* o = top->if_contains("overflow")) read_count(*o, out.overflow);
    return out;
}

}  // namespace

flow_counts fetch_flows(const std::string& url) {
    return parse_flows(request(url, http::verb::get), url + "/api/v1/flows");
}

void reset_flows(const std::string& url) { request(url, http::verb::delete_); }

std::vector<std::string> compare_flows(const std::map<std::string, std::uint64_t>& expected,
                                       const std::vector<flow_counts>& sinks) {
    std::map<std::string, std::uint64_t> got;
    std::uint64_t overflow = 0;
    for (const auto& s : sinks) {
        for (const auto& [name, n] : s.messages) got[name] += n;
        overflow += s.overflow;
    }
    std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> all;  // name -> generator, sinks
    for (const auto& [name, n] : expected) all[name].first = n;
    for (const auto& [name, n] : got) all[name].second = n;
    std::vector<std::string> out;
    for (const auto& [name, v] : all)
        if (v.first != v.second && name != "_overflow")
            out.push_back("flow " + name + ": generator got 250 for " + std::to_string(v.first) +
                          ", sinks counted " + std::to_string(v.second));
    if (overflow > 0) out.push_back("sinks counted " + std::to_string(overflow) + " messages under _overflow");
    return out;
}

}  // namespace loadgen
