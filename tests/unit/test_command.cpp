// Command-line parsing: verbs, paths, parameters, xtext, numbers; and the ASCII helpers they share.
#include <doctest/doctest.h>

#include "smtp/ascii.hpp"
#include "smtp/command.hpp"

using smtp::verb;

TEST_CASE("command: verbs are case-insensitive and split from their arguments") {
    auto c = smtp::parse_command("mAiL FROM:<a@b>  SIZE=1  ");
    CHECK(c.v == verb::mail);
    CHECK(c.args == "FROM:<a@b>  SIZE=1");
    CHECK(smtp::parse_command("QUIT").v == verb::quit);
    CHECK(smtp::parse_command("QUIT").args.empty());
    CHECK(smtp::parse_command("bdat 10 LAST").v == verb::bdat);
    CHECK(smtp::parse_command("QUITX").v == verb::unknown);
    CHECK(smtp::parse_command("QUI").v == verb::unknown);
    CHECK(smtp::parse_command("").v == verb::unknown);
    CHECK(smtp::parse_command("STARTTLS").v == verb::starttls);
    CHECK(smtp::parse_command("auth PLAIN AHUAcA==").v == verb::auth);
    CHECK(smtp::parse_command("STARTTLSX").v == verb::unknown);
}

TEST_CASE("path: MAIL FROM and RCPT TO with and without parameters") {
    auto p = smtp::parse_path("FROM:<a@b.test> SIZE=10 BODY=8BITMIME", smtp::path_kind::reverse);
    REQUIRE(p.ok);
    CHECK(p.address == "a@b.test");
    CHECK(p.params == "SIZE=10 BODY=8BITMIME");
    CHECK_FALSE(p.non_ascii);

    p = smtp::parse_path("from: <>", smtp::path_kind::reverse);
    REQUIRE(p.ok);
    CHECK(p.address.empty());
    CHECK_FALSE(smtp::parse_path("TO:<>", smtp::path_kind::forward).ok);
    CHECK(smtp::parse_path("TO:<>", smtp::path_kind::forward).error == smtp::reply_id::bad_address);

    p = smtp::parse_path("TO:<@r1.test,@r2.test:u@d.test>", smtp::path_kind::forward);
    REQUIRE(p.ok);
    CHECK(p.address == "u@d.test");

    p = smtp::parse_path("TO:<\"a > b\"@d.test>", smtp::path_kind::forward);
    REQUIRE(p.ok);
    CHECK(p.address == "\"a > b\"@d.test");

    p = smtp::parse_path("TO:<Postmaster>", smtp::path_kind::forward);
    REQUIRE(p.ok);
    CHECK(p.address == "Postmaster");

    p = smtp::parse_path("TO:<\xc3\xa9@d.test>", smtp::path_kind::forward);
    REQUIRE(p.ok);
    CHECK(p.non_ascii);
}

TEST_CASE("path: syntax errors and their replies") {
    struct bad {
        const char* args;
        smtp::reply_id error;
    } cases[] = {
        {"FROM:a@b", smtp::reply_id::syntax_mail},
        {"FROM<a@b>", smtp::reply_id::syntax_mail},
        {"FROM:<a@b", smtp::reply_id::syntax_mail},
        {"FROM:<a@b>x", smtp::reply_id::syntax_mail},
        {"FROM:<a b@c>", smtp::reply_id::bad_address},
        {"FROM:<a@b@c>", smtp::reply_id::bad_address},
        {"FROM:<@b>", smtp::reply_id::bad_address},
        {"FROM:<a@>", smtp::reply_id::bad_address},
        {"FROM:<a\x01@b>", smtp::reply_id::bad_address},
        {"FROM:<\"open@b>", smtp::reply_id::syntax_mail},
        {"FROM:<@route.only>", smtp::reply_id::bad_address},
    };
    for (const auto& c : cases) {
        CAPTURE(c.args);
        auto p = smtp::parse_path(c.args, smtp::path_kind::reverse);
        CHECK_FALSE(p.ok);
        CHECK(p.error == c.error);
    }
    std::string longpath = "FROM:<" + std::string(250, 'a') + "@b.test>";
    CHECK(smtp::parse_path(longpath, smtp::path_kind::reverse).error == smtp::reply_id::bad_address);
}

TEST_CASE("params: KEY and KEY=VALUE separated by spaces") {
    std::string_view rest = " SIZE=10  SMTPUTF8 RET=FULL", k, v;
    REQUIRE(smtp::next_param(rest, k, v));
    CHECK(k == "SIZE");
    CHECK(v == "10");
    REQUIRE(smtp::next_param(rest, k, v));
    CHECK(k == "SMTPUTF8");
    CHECK(v.empty());
    REQUIRE(smtp::next_param(rest, k, v));
    CHECK(k == "RET");
    CHECK(v == "FULL");
    CHECK_FALSE(smtp::next_param(rest, k, v));
}

TEST_CASE("xtext, numbers and EHLO arguments") {
    CHECK(smtp::is_xtext("abc+2B+3D"));
    CHECK(smtp::is_xtext(""));
    CHECK_FALSE(smtp::is_xtext("a=b"));
    CHECK_FALSE(smtp::is_xtext("a+2"));
    CHECK_FALSE(smtp::is_xtext("a+zz"));
    CHECK_FALSE(smtp::is_xtext("a b"));
    std::uint64_t n = 0;
    CHECK(smtp::parse_number("0", n));
    CHECK(n == 0);
    CHECK(smtp::parse_number("18446744073709551615", n, 20));
    CHECK_FALSE(smtp::parse_number("12345678901234567890", n, 19));
    CHECK_FALSE(smtp::parse_number("", n));
    CHECK_FALSE(smtp::parse_number("-1", n));
    CHECK_FALSE(smtp::parse_number("1x", n));
    CHECK(smtp::is_helo_argument("mail.example.org"));
    CHECK(smtp::is_helo_argument("[192.0.2.1]"));
    CHECK_FALSE(smtp::is_helo_argument(""));
    CHECK_FALSE(smtp::is_helo_argument("two words"));
    CHECK_FALSE(smtp::is_helo_argument(std::string(256, 'a')));
}

TEST_CASE("numbers: 64-bit overflow is an error, not a wrap") {
    std::uint64_t n = 0;
    CHECK_FALSE(smtp::parse_number("18446744073709551616", n, 20));
    CHECK_FALSE(smtp::parse_number("99999999999999999999", n, 20));
}

TEST_CASE("numbers: the default limit takes every 20-digit value up to 2^64-1 and none above") {
    std::uint64_t n = 0;
    CHECK(smtp::parse_number("18446744073709551615", n));
    CHECK(n == UINT64_MAX);
    CHECK(smtp::parse_number("10000000000000000000", n));
    CHECK(n == 10000000000000000000ull);
    CHECK(smtp::parse_number("00000000000000000042", n));
    CHECK(n == 42);
    CHECK_FALSE(smtp::parse_number("18446744073709551616", n));
    CHECK_FALSE(smtp::parse_number("20000000000000000000", n));
    CHECK_FALSE(smtp::parse_number("000000000000000000042", n));  // 21 digits
}

namespace ascii = smtp::ascii;

TEST_CASE("ascii: case-insensitive only for ASCII letters, trimming by the class asked for") {
    static_assert(ascii::iequals("MaIl", "mail") && !ascii::iequals("mail", "mai") && !ascii::iequals("[", "{"));
    static_assert(ascii::istarts_with("from:<a>", "FROM:") && !ascii::istarts_with("FRO", "FROM:"));
    static_assert(ascii::lower('Q') == 'q' && ascii::lower('@') == '@' && ascii::lower('\xc9') == '\xc9');
    static_assert(ascii::trim_left<ascii::is_sp>(" \tx") == "\tx" && ascii::trim(" \tx\t ") == "x");
    static_assert(ascii::trim<ascii::is_space>("\r\n x \r\n") == "x" && ascii::trim("\r\nx") == "\r\nx");
    static_assert(ascii::trim_right("x \t") == "x" && ascii::trim("  ").empty());
    static_assert(ascii::without_cr("a\r") == "a" && ascii::without_cr("a") == "a" && ascii::without_cr("").empty());
    static_assert(ascii::is_control('\x7f') && ascii::is_control('\0') && !ascii::is_control('\x80'));
    std::string s = "X-Flow \xc9T\xc9";
    ascii::to_lower(s);
    CHECK(s == "x-flow \xc9t\xc9");
}
