// Request targets (percent-decoding, segments, query parameters, what a client sends unencoded) and the route
// table's matching: captures, {name:uint}, 404 against 405.
#include <ostream>  // first: doctest only declares std::ostream, Beast's string_view needs it whole

#include <doctest/doctest.h>

#include "http/routes.hpp"

namespace {

using strings = std::vector<std::string>;
namespace bhttp = boost::beast::http;

strings path_of(std::string_view t) {
    auto r = http::parse_target(t);
    REQUIRE(r);
    return r->path;
}

}  // namespace

TEST_CASE("target: segments are decoded one by one; empty ones are skipped") {
    CHECK(path_of("/") == strings{});
    CHECK(path_of("/api/v1/flows") == strings{"api", "v1", "flows"});
    CHECK(path_of("//api//v1/flows/") == strings{"api", "v1", "flows"});
    CHECK(path_of("/api/v1/flows/a%2Fb%20c/wait") == strings{"api", "v1", "flows", "a/b c", "wait"});
    CHECK(path_of("/a+b%2b") == strings{"a+b+"});
    CHECK(path_of("/a{b}\"c|d") == strings{"a{b}\"c|d"});  // sent unencoded: taken as themselves
    CHECK(path_of("/%7Ba%2Fb{c}") == strings{"{a/b{c}"});  // escapes kept beside bytes sent unencoded
    CHECK(path_of("/caf\xc3\xa9#x") == strings{"caf\xc3\xa9#x"});
    CHECK(path_of("*") == strings{"*"});  // not a path: matches nothing
}

TEST_CASE("target: dot segments sent as they are resolve; escaped ones are names") {
    CHECK(path_of("/./api/./v1/x/../flows/.") == strings{"api", "v1", "flows"});
    CHECK(path_of("///////./pi/x/..") == strings{"pi"});  // as "/./pi", which Boost.URL reads without its "/."
    CHECK(path_of("/./pi") == strings{"pi"});
    CHECK(path_of("/../../a/b/../../..") == strings{});
    CHECK(path_of("/api/v1/flows/%2E%2E/x/%2e") == strings{"api", "v1", "flows", "..", "x", "."});
    CHECK(path_of("/a/.b/..c/...") == strings{"a", ".b", "..c", "..."});
}

TEST_CASE("target: a bad percent-encoding anywhere is refused") {
    for (auto t : {"/a%zz", "/a%2", "/a%", "/x?flow=a%g1", "/x?a%=1", "/a%zz{"})
        CHECK_MESSAGE(!http::parse_target(t), t);
}

TEST_CASE("target: query parameters are decoded, '+' stays a plus, the first of a name wins") {
    auto t = http::parse_target("/api/v1/messages?flow=a%2Fb+c&&limit=5&limit=7&empty=&bare");
    REQUIRE(t);
    REQUIRE(t->param("flow"));
    CHECK(*t->param("flow") == "a/b+c");
    CHECK(*t->param("limit") == "5");
    CHECK(*t->param("empty") == "");
    CHECK(*t->param("bare") == "");
    CHECK(t->param("nope") == nullptr);
    auto form = http::parse_target("/api/v1/search?query=subject:%22a+b%22%2Bc+d", true);  // form encoding
    REQUIRE(form);
    CHECK(*form->param("query") == "subject:\"a b\"+c d");
}

TEST_CASE("routes: literal segments, captures, numbers, and 404 against 405") {
    using handler = int;
    const http::route<handler> table[] = {
        {http::method(bhttp::verb::get), "/api/v1/flows", 1},
        {http::method(bhttp::verb::delete_), "/api/v1/flows", 2},
        {http::method(bhttp::verb::get) | http::method(bhttp::verb::head), "/api/v1/flows/{flow}/wait", 3},
        {http::method(bhttp::verb::get), "/api/v1/messages/{id:uint}", 4},
    };
    std::vector<std::string_view> args;
    auto status = bhttp::status::ok;
    std::optional<http::target> t;  // outlives each find: args point into its path
    auto find = [&](bhttp::verb v, std::string_view target) {
        t = http::parse_target(target);
        REQUIRE(t);
        auto* row = http::find_route(std::span<const http::route<handler>>(table), *t, v, args, status);
        return row ? row->handler : 0;
    };
    CHECK(find(bhttp::verb::get, "/api/v1/flows") == 1);
    CHECK(find(bhttp::verb::delete_, "/api/v1/flows/") == 2);
    CHECK(find(bhttp::verb::post, "/api/v1/flows") == 0);
    CHECK(status == bhttp::status::method_not_allowed);
    CHECK(find(bhttp::verb::head, "/api/v1/flows/a%2Fb/wait?messages=2") == 3);
    CHECK(args == std::vector<std::string_view>{"a/b"});
    CHECK(find(bhttp::verb::get, "/api/v1/flows/a/wait/more") == 0);
    CHECK(status == bhttp::status::not_found);
    CHECK(find(bhttp::verb::get, "/api/v1/messages/17") == 4);
    CHECK(args == std::vector<std::string_view>{"17"});
    for (auto bad : {"/api/v1/messages/abc", "/api/v1/messages/-1", "/api/v1/messages/99999999999999999999"}) {
        CHECK(find(bhttp::verb::post, bad) == 0);
        CHECK_MESSAGE(status == bhttp::status::not_found, bad);
    }
}
