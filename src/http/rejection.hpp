// The bounds of an HTTP request and the answers to a request that Beast's parser refuses: 431 for a header block
// over its bound (RFC 6585 5), 413 for a body over its bound (RFC 9110 15.5.14), 400 for bytes that are not
// HTTP/1.x (RFC 9112 2.2), all in one place. No I/O here: the listener's sessions write the answer and close.
#pragma once
#include <boost/system/error_code.hpp>
#include <cstdint>
#include <optional>
#include <string>

#include "http/service.hpp"

namespace http {

// A request's header block (request line, fields and the empty line that ends them) may be this long: twice
// Beast's default of 8 KiB, for a browser's cookies and a long search URL; the API's own requests are far shorter.
inline constexpr std::uint32_t header_limit = 16 * 1024;
// A request body on the main API (--http-listen) may be this long: the only body it reads is a list of fault rules.
inline constexpr std::uint64_t api_body_limit = 64 * 1024;
// ... and on the Mailpit-compatible API (--mailpit-listen), whose DELETE /api/v1/messages may list every ID.
inline constexpr std::uint64_t mailpit_body_limit = 1024 * 1024;

// Sets the bounds above on a parser of one request, with `body_limit` the listener's (header_limit is Beast's
// too, which keeps what it reads of an endless header block to about twice the bound).
void set_limits(bhttp::request_parser<bhttp::string_body>& p, std::uint64_t body_limit);

// Why a request is refused: its status and the text of its `{"error": ...}`.
struct rejection {
    bhttp::status status;
    std::string error;
};

// The answer to a request that the parser stopped at with `ec`, under a body bound of `body_limit`; or nothing
// when the connection is to be closed without one (the client went away, the read timed out or was cancelled).
std::optional<rejection> reject(const boost::system::error_code& ec, std::uint64_t body_limit);

// The answer to a request whose header block the parser read whole in `header_bytes`: 431 when they are over
// header_limit. Beast's own header_limit bounds the request line and the fields each, more or less exactly as the
// reads cut them; this makes the bound exact.
std::optional<rejection> reject_header(std::size_t header_bytes);

// The rejection as an HTTP/1.1 response: `{"error": "..."}` as application/json, with Connection: close.
response make_response(const rejection& r);

}  // namespace http
