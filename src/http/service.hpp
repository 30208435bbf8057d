// What an HTTP listener hands each request to: the API (http::api) or the Mailpit-compatible API
// (http::mailpit), each with its own route table. Also the one place that shapes a response (status, type,
// no caching, keep-alive as asked). No I/O here: the listener's sessions read and write.
#pragma once
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/thread_pool.hpp>
#include <atomic>
#include <cstdint>
#include <boost/beast/http.hpp>
#include <functional>
#include <string>
#include <string_view>

namespace http {

namespace bhttp = boost::beast::http;
using request = bhttp::request<bhttp::string_body>;
using response = bhttp::response<bhttp::string_body>;
using responder = std::function<void(response)>;

// What the process is doing, as /livez and /readyz tell it: set by the server, read by both APIs. Draining
// starts at SIGTERM: SMTP listeners are closed and open sessions finish, while the HTTP listeners still answer
// (/readyz with 503, so that a load balancer stops sending first) until the last session is gone.
struct lifecycle {
    std::atomic<bool> draining{false};
};

class service {
public:
    virtual ~service() = default;
    // Answers `req` by calling `done` once: at once, or later on `ex`.
    virtual void handle(const request& req, const boost::asio::any_io_executor& ex, responder done) = 0;
    // How long a request body may be (see rejection.hpp); a longer one is answered 413.
    virtual std::uint64_t body_limit() const noexcept = 0;
};

// Makes an answer with `work` on `pool` (a thread of the API's own, for work such as GMime parsing that must not
// hold up a worker serving SMTP) and hands it to `done` on `ex`, the request's executor.
void answer_off_thread(boost::asio::thread_pool& pool, const boost::asio::any_io_executor& ex, responder done,
                       std::function<response()> work);

// A response to `req` with this status, body and Content-Type, marked not to be cached.
response make_response(const request& req, bhttp::status s, std::string body,
                       std::string_view type = "application/json");
// The same for a request that could not be read: HTTP `version` (11 for 1.1), keep-alive or Connection: close.
response make_response(unsigned version, bool keep_alive, bhttp::status s, std::string body,
                       std::string_view type = "application/json");

}  // namespace http
