// A MIME part's HTTP download headers: Content-Type with a text part's charset, Content-Disposition with an ASCII
// fallback and an RFC 5987 filename* (RFC 6266), and nothing from the message that could break a header.
#include <ostream>  // first: doctest only declares std::ostream

#include <doctest/doctest.h>

#include "http/download.hpp"

namespace {

inspect::part_info info(std::string type, std::string charset = "", std::string filename = "",
                        bool attachment = false) {
    inspect::part_info p;
    p.id = "1";
    p.content_type = std::move(type);
    p.charset = std::move(charset);
    p.filename = std::move(filename);
    p.attachment = attachment;
    return p;
}

}  // namespace

TEST_CASE("download: Content-Type, with the charset of a text part only") {
    CHECK(http::part_content_type(info("text/plain", "shift_jis")) == "text/plain; charset=shift_jis");
    CHECK(http::part_content_type(info("text/html")) == "text/html");
    CHECK(http::part_content_type(info("image/png", "utf-8")) == "image/png");
    CHECK(http::part_content_type(info("text/plain", "utf-8\r\nX-Evil: 1")) == "text/plain");
    CHECK(http::part_content_type(info("text/pla in")) == "application/octet-stream");
    CHECK(http::part_content_type(info("text")) == "application/octet-stream");
    CHECK(http::part_content_type(info("/plain")) == "application/octet-stream");
}

TEST_CASE("download: Content-Disposition for attachments and named parts") {
    CHECK(http::part_disposition(info("text/plain")) == "");
    CHECK(http::part_disposition(info("application/pdf", "", "", true)) == "attachment");
    CHECK(http::part_disposition(info("image/png", "", "logo.png")) == "inline; filename=\"logo.png\"");
    CHECK(http::part_disposition(info("application/pdf", "", "Rechnung März.pdf", true)) ==
          "attachment; filename=\"Rechnung M_rz.pdf\"; filename*=UTF-8''Rechnung%20M%C3%A4rz.pdf");
    CHECK(http::part_disposition(info("text/plain", "", "a\"b\\c\r\nd%.txt", true)) ==
          "attachment; filename=\"a_b_c__d%.txt\"; filename*=UTF-8''a%22b%5Cc%0D%0Ad%25.txt");
    CHECK(http::part_disposition(info("text/plain", "", "caf\xe9.txt", true)) ==
          "attachment; filename=\"caf_.txt\"; filename*=UTF-8''caf%EF%BF%BD.txt");  // not UTF-8: U+FFFD
}
