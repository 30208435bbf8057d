// The answers to requests Beast's parser refuses: bytes go through a parser bounded as the HTTP sessions bound
// theirs (set_limits), fed as a socket would bring them (whole, and in small pieces), and its error is mapped by
// reject(): 431 at one byte over the header bound, 413 at one byte over the body bound (a declared length at once,
// a chunked body as it grows), 400 for what is not HTTP/1.x, nothing for a client that only went away.
#include <ostream>  // first: doctest only declares std::ostream, Beast's string_view needs it whole

#include <doctest/doctest.h>

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <cstdio>
#include <sstream>

#include "http/rejection.hpp"

namespace {

namespace bhttp = boost::beast::http;
using http::rejection;

constexpr std::uint64_t body_limit = 1000;

// What an HTTP session makes of `in` when the socket brings it in pieces of `piece` bytes (0: whole): the
// buffer keeps what the parser has not used; a parser error is answered as reject() says, a header block read
// whole as reject_header() says. "complete" or "need more" when there is no answer.
std::string read(std::string_view in, std::size_t piece = 0) {
    bhttp::request_parser<bhttp::string_body> p;
    http::set_limits(p, body_limit);
    std::string buffered;
    std::size_t header_bytes = 0;
    auto said = [](const std::optional<rejection>& r) {
        return std::to_string(static_cast<unsigned>(r->status)) + " " + r->error;
    };
    for (std::size_t pos = 0; pos < in.size();) {
        std::size_t n = std::min(piece == 0 ? in.size() : piece, in.size() - pos);
        buffered.append(in.substr(pos, n));
        pos += n;
        for (;;) {
            boost::system::error_code ec;
            bool header_done = p.is_header_done();
            std::size_t used = p.put(boost::asio::buffer(buffered), ec);
            buffered.erase(0, used);
            if (!header_done) header_bytes += used;
            if (ec == bhttp::error::need_more) break;
            if (auto r = http::reject(ec, body_limit)) return said(r);
            REQUIRE_FALSE(ec);
            if (!header_done && p.is_header_done())
                if (auto r = http::reject_header(header_bytes)) return said(r);
            if (p.is_done()) return "complete";
            if (used == 0) break;
        }
    }
    return "need more";
}

// What `in` is answered, fed whole and in pieces of 7 bytes (both must agree).
std::string answer(std::string_view in) {
    auto whole = read(in);
    CHECK(read(in, 7) == whole);
    CHECK(read(in, 1000) == whole);
    return whole;
}

void check_400(std::string_view in, std::string_view why) {
    CAPTURE(in);
    CHECK(answer(in) == "400 " + std::string(why));
}

std::string header_block(std::size_t size) {
    std::string head = "GET / HTTP/1.1\r\nX-Pad: ";
    std::string end = "\r\n\r\n";
    return head + std::string(size - head.size() - end.size(), 'p') + end;
}

std::string chunked(std::size_t total) {
    std::string out = "POST /api/v1/faults HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (std::size_t left = total; left > 0;) {
        std::size_t n = std::min<std::size_t>(left, 100);
        char size[8];
        std::snprintf(size, sizeof size, "%zx", n);  // a chunk's size is hexadecimal
        out += size + std::string("\r\n") + std::string(n, 'x') + "\r\n";
        left -= n;
    }
    return out;
}

}  // namespace

TEST_CASE("rejection: a header block of header_limit bytes is read; one byte more is 431, however it is cut") {
    CHECK(answer(header_block(http::header_limit)) == "complete");
    // Beast's own limit alone lets this one through when a read brings it whole (it bounds the request line and
    // the fields each): reject_header() does not.
    CHECK(answer(header_block(http::header_limit + 1)) == "431 request header block larger than 16384 bytes");
    // A request line or a header block with no end is bounded the same, without its end.
    CHECK(answer("GET /" + std::string(http::header_limit, 'a')) ==
          "431 request header block larger than 16384 bytes");
    CHECK(answer(header_block(4 * http::header_limit).substr(0, 3 * http::header_limit)) ==
          "431 request header block larger than 16384 bytes");
}

TEST_CASE("rejection: a declared Content-Length over the body bound is 413 before any body byte") {
    std::string head = "POST /api/v1/faults HTTP/1.1\r\nContent-Length: ";
    CHECK(answer(head + "1000\r\n\r\n" + std::string(1000, '{')) == "complete");
    CHECK(answer(head + "1001\r\n\r\n") == "413 request body larger than 1000 bytes");  // the head alone
    CHECK(answer(head + "99999999999999999999\r\n\r\n") == "400 bad Content-Length");  // over 64 bits
}

TEST_CASE("rejection: a chunked body is 413 once it grows past the body bound") {
    CHECK(answer(chunked(1000) + "0\r\n\r\n") == "complete");
    CHECK(answer(chunked(1001)) == "413 request body larger than 1000 bytes");  // no last chunk: met on the way
    // A chunk size announcing more than the bound is refused at its size line.
    CHECK(answer("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nfffff\r\n") ==
          "413 request body larger than 1000 bytes");
}

TEST_CASE("rejection: bytes that are not HTTP/1.x are 400 with what is wrong") {
    check_400(std::string_view("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11), "bad request line: method");
    check_400("GET\r\n\r\n", "bad request line: method");
    check_400(" / HTTP/1.1\r\n\r\n", "bad request line: method");
    check_400("GET /\r\n\r\n", "bad request line: target");
    check_400("GET / HTTP/1\r\n\r\n", "bad request line: HTTP version");
    check_400("GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", "bad line ending: CR LF expected");
    check_400("GET / HTTP/1.1\r\nNo colon here\r\n\r\n", "bad header field name");
    check_400("GET / HTTP/1.1\r\nX: a\x01z\r\n\r\n", "bad header field value");
    check_400("POST / HTTP/1.1\r\nContent-Length: 12x\r\n\r\n", "bad Content-Length");
    check_400("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", "bad Content-Length");
    // Both framings at once: request smuggling's first step (RFC 9112 6.1).
    check_400("POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", "bad Transfer-Encoding");
    check_400("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
              "bad Transfer-Encoding");
    check_400("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", "bad Content-Length");
    check_400("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "bad chunked encoding");
    check_400("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXY\r\n0\r\n\r\n", "bad chunked encoding");
}

TEST_CASE("rejection: a client that goes away, a timeout or a cancel is closed without an answer") {
    CHECK_FALSE(http::reject(bhttp::error::end_of_stream, body_limit));
    CHECK_FALSE(http::reject(bhttp::error::partial_message, body_limit));
    CHECK_FALSE(http::reject(boost::beast::error::timeout, body_limit));
    CHECK_FALSE(http::reject(boost::asio::error::operation_aborted, body_limit));
    CHECK_FALSE(http::reject(boost::asio::error::connection_reset, body_limit));
    CHECK(answer("GET / HTTP/1.1\r\nHost: x") == "need more");  // half a request: the timeout's to end
}

TEST_CASE("rejection: the answer is HTTP/1.1, JSON, Connection: close, with RFC 9110's name for 413") {
    std::ostringstream out;
    out << http::make_response(rejection{bhttp::status::payload_too_large, "request body larger than 1000 bytes"});
    std::string text = out.str();
    CHECK(text.starts_with("HTTP/1.1 413 Content Too Large\r\n"));
    CHECK(text.find("\r\nContent-Type: application/json\r\n") != std::string::npos);
    CHECK(text.find("\r\nConnection: close\r\n") != std::string::npos);
    CHECK(text.find("\r\nContent-Length: 47\r\n") != std::string::npos);
    CHECK(text.ends_with("\r\n\r\n{\"error\":\"request body larger than 1000 bytes\"}"));
    out.str("");
    out << http::make_response(rejection{bhttp::status::bad_request, "bad \"x\""});
    CHECK(out.str().starts_with("HTTP/1.1 400 Bad Request\r\n"));
    CHECK(out.str().ends_with("{\"error\":\"bad \\\"x\\\"\"}"));
}
