// The HTTP client of --verify and --reset (Boost.Beast, synchronous, bounded by socket timeouts). See verify.hpp.
#include "verify.hpp"

#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <stdexcept>

#include "json_reader.hpp"

namespace loadgen {
namespace {

namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

constexpr int http_timeout_seconds = 10;
constexpr std::size_t max_body = 64 * 1024 * 1024;  // the flow table is bounded (--max-flows) so this is ample

struct url_parts {
    std::string host, port;
};

// "http://HOST:PORT[/anything]" -> host and port; the path is always /api/v1/flows.
url_parts split_url(const std::string& url) {
    std::string rest = url.substr(std::string("http://").size());
    rest = rest.substr(0, rest.find('/'));
    url_parts u;
    if (!rest.empty() && rest.front() == '[') {
        auto close = rest.find(']');
        if (close == std::string::npos) throw std::runtime_error("bad URL " + url);
        u.host = rest.substr(1, close - 1);
        u.port = close + 1 < rest.size() && rest[close + 1] == ':' ? rest.substr(close + 2) : "80";
    } else {
        auto colon = rest.rfind(':');
        u.host = rest.substr(0, colon);
        u.port = colon == std::string::npos ? "80" : rest.substr(colon + 1);
    }
    if (u.host.empty() || u.port.empty()) throw std::runtime_error("bad URL " + url);
    return u;
}

std::string request(const std::string& url, http::verb method) {
    auto u = split_url(url);
    boost::asio::io_context io;
    tcp::socket sock(io);
    boost::system::error_code ec;
    tcp::resolver resolver(io);
    auto eps = resolver.resolve(u.host, u.port, ec);
    if (!ec) boost::asio::connect(sock, eps, ec);
    if (ec) throw std::runtime_error("cannot reach " + url + ": " + ec.message());
    timeval tv{http_timeout_seconds, 0};
    ::setsockopt(sock.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(sock.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    http::request<http::empty_body> req(method, "/api/v1/flows", 11);
    req.set(http::field::host, u.host + ":" + u.port);
    req.set(http::field::connection, "close");
    http::write(sock, req, ec);
    boost::beast::flat_buffer buf;
    http::response_parser<http::string_body> parser;
    parser.body_limit(max_body);
    if (!ec) http::read(sock, buf, parser, ec);
    if (ec) throw std::runtime_error(std::string(http::to_string(method)) + " " + url + "/api/v1/flows failed: " + ec.message());
    auto& res = parser.get();
    if (res.result_int() != 200)
        throw std::runtime_error(std::string(http::to_string(method)) + " " + url + "/api/v1/flows answered " +
                                 std::to_string(res.result_int()));
    return std::move(res.body());
}

}  // namespace

flow_counts fetch_flows(const std::string& url) {
    std::string body = request(url, http::verb::get);
    json::value doc;
    try {
        doc = json::parse(body);
    } catch (const std::exception& e) {
        throw std::runtime_error(url + "/api/v1/flows: " + e.what());
    }
    const json::value* flows = doc.get("flows");
    if (!flows || flows->type != json::value::kind::array) throw std::runtime_error(url + "/api/v1/flows: no \"flows\" array");
    flow_counts out;
    for (const auto& f : flows->items) {
        const json::value* name = f.get("flow");
        const json::value* messages = f.get("messages");
        if (!name || name->type != json::value::kind::string || !messages || messages->type != json::value::kind::number)
            throw std::runtime_error(url + "/api/v1/flows: a flow without \"flow\" or \"messages\"");
        out.messages[name->s] += static_cast<std::uint64_t>(messages->n);
    }
    if (const json::value* o = doc.get("overflow"); o && o->type == json::value::kind::number)
        out.overflow = static_cast<std::uint64_t>(o->n);
    return out;
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
