// Parser errors to answers, in one table. See rejection.hpp.
#include "http/rejection.hpp"

#include <boost/beast/http/error.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace http {
namespace {

using bhttp::error;

// The text of a 400 for a syntax error of Beast's parser, or nullptr for an error that is not one.
const char* syntax_error(error e) {
    switch (e) {
        case error::bad_line_ending: return "bad line ending: CR LF expected";
        case error::bad_method: return "bad request line: method";
        case error::bad_target: return "bad request line: target";
        case error::bad_version: return "bad request line: HTTP version";
        case error::bad_field: return "bad header field name";
        case error::bad_value: return "bad header field value";
        case error::bad_obs_fold: return "bad header field folding";
        case error::bad_content_length:
        case error::multiple_content_length: return "bad Content-Length";
        case error::bad_transfer_encoding: return "bad Transfer-Encoding";
        case error::bad_chunk:
        case error::bad_chunk_extension: return "bad chunked encoding";
        default: return nullptr;
    }
}

rejection too_large_header() {
    return {bhttp::status::request_header_fields_too_large,
            "request header block larger than " + std::to_string(header_limit) + " bytes"};
}

}  // namespace

void set_limits(bhttp::request_parser<bhttp::string_body>& p, std::uint64_t body_limit) {
    p.header_limit(header_limit);
    p.body_limit(body_limit);
}

std::optional<rejection> reject(const boost::system::error_code& ec, std::uint64_t body_limit) {
    if (ec.category() != make_error_code(error::header_limit).category()) return std::nullopt;
    auto e = static_cast<error>(ec.value());
    if (e == error::header_limit) return too_large_header();
    if (e == error::body_limit)
        return rejection{bhttp::status::payload_too_large,
                         "request body larger than " + std::to_string(body_limit) + " bytes"};
    if (const char* text = syntax_error(e)) return rejection{bhttp::status::bad_request, text};
    return std::nullopt;  // end_of_stream, partial_message (the client closed mid-request), bad_alloc...
}

std::optional<rejection> reject_header(std::size_t header_bytes) {
    if (header_bytes > header_limit) return too_large_header();
    return std::nullopt;
}

response make_response(const rejection& r) {
    auto res = make_response(11, false, r.status, boost::json::serialize(boost::json::object{{"error", r.error}}));
    // RFC 9110 15.5.14's name; Beast writes RFC 7231's "Payload Too Large".
    if (r.status == bhttp::status::payload_too_large) res.reason("Content Too Large");
    return res;
}

}  // namespace http
