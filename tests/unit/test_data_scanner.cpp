// The DATA scanner: the terminator, dot-unstuffing, smuggling shapes, and pieces of any size.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "harness.hpp"
#include "smtp/data_scanner.hpp"

namespace {

struct scanned {
    std::string content;
    std::size_t consumed = 0;  // total bytes used
    bool ended = false;
    bool suspect = false;
    bool operator==(const scanned&) const = default;
};

// Scans the pieces in order, as the session hands them over, until the end of data is found.
scanned scan(const split::pieces& pieces) {
    smtp::data_scanner s;
    s.reset();
    scanned r;
    for (auto piece : pieces) {
        if (r.ended) break;
        auto res = s.scan(piece, [&](std::string_view c) { r.content += c; });
        CHECK(res.consumed <= piece.size());
        if (!res.ended) CHECK(res.consumed == piece.size());  // everything is used unless the end was found
        r.consumed += res.consumed;
        r.ended = res.ended;
    }
    r.suspect = s.suspect();
    return r;
}

// Whole, byte by byte, in pieces of 2, 3 and 7, and split in two at every offset must agree.
scanned scan_all_ways(const std::string& in) {
    CAPTURE(in);
    return test::for_each_split(in, scan, {{{1}, {2}, {3}, {7}}});
}

}  // namespace

TEST_CASE("data: the message ends at CRLF.CRLF and the terminator is not content") {
    auto r = scan_all_ways("Subject: x\r\n\r\nhello\r\n.\r\nMAIL FROM:<a@b>\r\n");
    CHECK(r.ended);
    CHECK(r.content == "Subject: x\r\n\r\nhello\r\n");
    CHECK(r.consumed == std::string("Subject: x\r\n\r\nhello\r\n.\r\n").size());
    CHECK_FALSE(r.suspect);
}

TEST_CASE("data: an empty message is just the terminator") {
    auto r = scan_all_ways(".\r\n");
    CHECK(r.ended);
    CHECK(r.content.empty());
    CHECK(r.consumed == 3);
}

TEST_CASE("data: a leading dot is removed from every line (RFC 5321 4.5.2)") {
    auto r = scan_all_ways("..\r\n...x\r\n.y\r\nz.\r\n..\r\n.\r\n");
    CHECK(r.ended);
    CHECK(r.content == ".\r\n..x\r\ny\r\nz.\r\n.\r\n");
}

TEST_CASE("data: a dot then CR not followed by LF is stuffing, the CR stays") {
    auto r = scan_all_ways(".\rx\r\n.\r\r\n.\r\n");
    CHECK(r.ended);
    CHECK(r.content == "\rx\r\n\r\r\n");
}

TEST_CASE("data: smuggling shapes never end the message and are flagged") {
    const char* shapes[] = {"a\n.\nb", "a\r.\r\nb", "a\n.\r\nb", "a\r\n.\nb", "a\r.\rb\n", ".\nb"};
    for (const char* shape : shapes) {
        CAPTURE(shape);
        std::string body = std::string(shape) + "\r\n.\r\n";
        auto r = scan_all_ways(body);
        CHECK(r.ended);
        CHECK(r.consumed == body.size());
        bool expect_flag = std::string(shape) != "a\r.\rb\n";  // ".\r" then "b": no dot line at all
        CHECK(r.suspect == expect_flag);
    }
}

TEST_CASE("data: \\r\\n.\\n keeps the content after the removed stuffing dot") {
    auto r = scan_all_ways("a\r\n.\nb\r\n.\r\n");
    CHECK(r.content == "a\r\n\nb\r\n");
    CHECK(r.suspect);
}

TEST_CASE("data: bare LF lines are content and a dot after a bare LF is kept") {
    auto r = scan_all_ways("x\n.y\n\r\n.\r\n");
    CHECK(r.content == "x\n.y\n\r\n");
    CHECK_FALSE(r.suspect);
}

TEST_CASE("data: without a terminator everything is consumed and nothing ends") {
    auto r = scan_all_ways("line one\r\nline two\r\n.");
    CHECK_FALSE(r.ended);
    CHECK(r.consumed == std::string("line one\r\nline two\r\n.").size());
    CHECK(r.content == "line one\r\nline two\r\n");
}

TEST_CASE("data: long lines of any length are content") {
    std::string line(100000, 'x');
    // Byte by byte and in pieces of 4096, not at every offset (10^10 bytes).
    auto r = test::for_each_split(line + "\r\n.\r\n", scan, {{{1}, {4096}}, false});
    CHECK(r.ended);
    CHECK(r.content == line + "\r\n");
}

TEST_CASE("data: binary bytes and NULs pass through") {
    std::string body("\0\x01\xff\r\n\0.\r\n", 9);
    auto r = scan_all_ways(body + ".\r\n");
    CHECK(r.ended);
    CHECK(r.content == body);
}

namespace {

// The rules spelled out a byte at a time over the whole input, to check the scanner (which jumps from dot to dot)
// against: before the body the DATA line's CR LF; an LF ends a "." line that is a smuggling shape when the two
// bytes before it are [CR|LF] "." or the three before it are "." CR LF after a bare CR or a bare LF; a "." right
// after CR LF is the end when CR LF follows, else stuffing and dropped; every other byte is content.
scanned reference(const std::string& in) {
    const std::string s = std::string("\0\0\r\n", 4) + in;  // the scanner's look-back before the first byte
    scanned r;
    for (std::size_t j = 4; j < s.size(); ++j) {
        const char c = s[j];
        if (c == '\n') {
            if (s[j - 1] == '.' && (s[j - 2] == '\n' || s[j - 2] == '\r')) r.suspect = true;
            if (s[j - 1] == '\r' && s[j - 2] == '.' &&
                (s[j - 3] == '\r' || (s[j - 3] == '\n' && s[j - 4] != '\r')))
                r.suspect = true;
        }
        if (c == '.' && s[j - 1] == '\n' && s[j - 2] == '\r') {
            if (j + 2 < s.size() && s[j + 1] == '\r' && s[j + 2] == '\n') {
                r.ended = true;
                r.consumed = j + 3 - 4;
                return r;
            }
            continue;  // stuffing
        }
        r.content += c;
    }
    r.consumed = in.size();
    return r;
}

}  // namespace

TEST_CASE("data: random bodies of dots, CRs, LFs and letters scan as the byte-at-a-time rules say, however cut") {
    std::uint64_t x = 0x9e3779b97f4a7c15ull;  // xorshift64: a fixed sequence
    auto next = [&x] {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        return x;
    };
    static constexpr char alphabet[] = {'.', '\r', '\n', 'a'};
    for (int body = 0; body < 20000; ++body) {
        std::string in;
        const std::size_t length = next() % 24;
        for (std::size_t k = 0; k < length; ++k) in += alphabet[next() % 4];
        in += "\r\n.\r\n";  // every body ends (the rules above cannot know what an unfinished one holds back)
        const scanned want = reference(in);
        CAPTURE(in);
        REQUIRE(want.ended);
        REQUIRE(scan({in}) == want);
        REQUIRE(scan(split::cut(in, {1})) == want);
        REQUIRE(scan(split::cut(in, {1 + next() % 3, 1 + next() % 5})) == want);
    }
}
