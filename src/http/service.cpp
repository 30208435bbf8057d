// The one place that shapes a response. See service.hpp.
#include "http/service.hpp"

#include <boost/asio/post.hpp>

namespace http {

// What a response may carry from a captured message (its HTML, a part, the source) runs nothing on this origin:
// no browser guesses another type, and a document shown from it is sandboxed (no script, no same-origin access
// to the API) and loads nothing remote. The page replaces this policy with its own.
constexpr std::string_view message_policy = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'";

response make_response(const request& req, bhttp::status s, std::string body, std::string_view type) {
    return make_response(req.version(), req.keep_alive(), s, std::move(body), type);
}

response make_response(unsigned version, bool keep_alive, bhttp::status s, std::string body, std::string_view type) {
    response r{s, version};
    r.set(bhttp::field::content_type, type);
    r.set(bhttp::field::cache_control, "no-store");
    r.set("X-Content-Type-Options", "nosniff");
    r.set("Content-Security-Policy", message_policy);
    r.keep_alive(keep_alive);
    r.body() = std::move(body);
    r.prepare_payload();
    return r;
}

void answer_off_thread(boost::asio::thread_pool& pool, const boost::asio::any_io_executor& ex, responder done,
                       std::function<response()> work) {
    boost::asio::post(pool, [work = std::move(work), ex, done = std::move(done)]() mutable {
        boost::asio::post(ex, [r = work(), done = std::move(done)]() mutable { done(std::move(r)); });
    });
}

}  // namespace http
