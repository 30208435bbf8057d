// The one place that shapes a response. See service.hpp.
#include "http/service.hpp"

namespace http {

response make_response(const request& req, bhttp::status s, std::string body, std::string_view type) {
    response r{s, req.version()};
    r.set(bhttp::field::content_type, type);
    r.set(bhttp::field::cache_control, "no-store");
    r.keep_alive(req.keep_alive());
    r.body() = std::move(body);
    r.prepare_payload();
    return r;
}

}  // namespace http
