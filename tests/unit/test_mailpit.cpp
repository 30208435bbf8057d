// The Mailpit-compatible API's pure parts: Mailpit's search text, snippet and HTML words; the split of a message's
// parts into Inline and Attachments; the search syntax and its matching; the JSON shapes and header names.
#include <doctest/doctest.h>

#include <boost/json/serialize.hpp>

#include "http/mailpit_render.hpp"
#include "http/mailpit_search.hpp"
#include "http/mailpit_summary.hpp"

namespace {

namespace mp = http::mailpit;

inspect::part_info part(std::string id, std::string type, std::string filename = "", std::string cid = "",
                        bool attachment = false, std::uint64_t size = 0) {
    inspect::part_info p;
    p.id = std::move(id);
    p.content_type = std::move(type);
    p.filename = std::move(filename);
    p.content_id = std::move(cid);
    p.attachment = attachment;
    p.size = size;
    return p;
}

// A message as inspect::parse would see it: text, HTML, an inline image and a PDF attachment.
inspect::message_view view() {
    inspect::message_view v;
    v.subject = "Your Invoice 42";
    v.from = inspect::address{"Shop Team", "team@shop.example"};
    v.to = {{"Alice Doe", "alice@example.net"}};
    v.cc = {{"", "Carol@Example.net"}};
    v.reply_to = {{"Support", "help@shop.example"}};
    v.message_id = "abc.123@shop.example";
    v.date_ms = 1'700'000'000'000;
    v.text = "Hello Alice,\r\n\r\n  your invoice\tis attached.\r\n";
    v.html = "<p>Hello <b>Alice</b></p>";
    v.parts = {part("1", "multipart/mixed"), part("1.1", "multipart/related"), part("1.1.1", "text/plain"),
               part("1.1.2", "text/html"), part("1.1.3", "image/png", "logo.png", "logo@shop", false, 68),
               part("1.2", "application/pdf", "invoice-42.pdf", "", true, 1234)};
    v.attachments = 1;
    return v;
}

// (Held by a shared_ptr, as the ring holds it: a captured message keeps its derived data and does not move.)
std::shared_ptr<sink::captured_message> captured() {
    auto m = std::make_shared<sink::captured_message>();
    m->id = 7;
    m->received_ms = 1'700'000'001'234;
    m->flow = "invoice";
    m->mail_from = "bounce@shop.example";
    m->rcpt_to = {"alice@example.net", "carol@example.net", "audit@shop.example"};
    m->size = 5000;
    m->raw = sink::byte_buffer(std::string("Subject: Your Invoice 42\r\nX-Flow: invoice\r\n\r\nbody\r\n"));
    return m;
}

}  // namespace

TEST_CASE("mailpit: clean is Mailpit's search form of a text") {
    CHECK(mp::clean("  Hello,\r\n<World>; (Foo) \"Bar\"\tBAZ  ") == "hello world foo bar baz");
    CHECK(mp::clean("a\xef\xbb\xbf" "b") == "a b");
    CHECK(mp::clean(" ,;() ") == "");
    CHECK(mp::clean("J\xc3\x9cRGEN") == "j\xc3\x9crgen");  // only ASCII letters change case
}

TEST_CASE("mailpit: the snippet is the text (or the HTML's words), collapsed, cut to 200 bytes") {
    CHECK(mp::snippet("Hello\r\n  there\t you", "<p>other</p>") == "Hello there you");
    CHECK(mp::snippet(" \r\n", "<p>Only <i>HTML</i></p>") == "Only HTML");
    CHECK(mp::snippet("", "") == "");
    std::string long_text(199, 'a');
    long_text += "\xc3\xa9zzz";  // é straddles byte 200: the cut goes before it
    CHECK(mp::snippet(long_text, "") == std::string(199, 'a') + "...");
    CHECK(mp::snippet(std::string(200, 'b'), "") == std::string(200, 'b'));
    CHECK(mp::snippet(std::string(201, 'b'), "") == std::string(200, 'b') + "...");
}

TEST_CASE("mailpit: parts are body, inline or attachment as Mailpit lists them") {
    CHECK(mp::role(part("1", "multipart/alternative", "x.txt")) == mp::part_role::body);
    CHECK(mp::role(part("1.1", "text/plain")) == mp::part_role::body);
    CHECK(mp::role(part("2", "image/png", "", "cid1")) == mp::part_role::inline_part);
    CHECK(mp::role(part("3", "image/png", "a.png")) == mp::part_role::inline_part);
    CHECK(mp::role(part("4", "application/pdf", "", "", true)) == mp::part_role::attachment);
}

TEST_CASE("mailpit: a summary: addresses, Bcc from the envelope, counts, snippet, search text") {
    auto s = mp::summarize(*captured(), view());
    CHECK(s.from.name == "Shop Team");
    CHECK(s.to.size() == 1);
    REQUIRE(s.bcc.size() == 1);  // carol is named in Cc (in another case), alice in To
    CHECK(s.bcc[0].name == "");
    CHECK(s.bcc[0].address == "audit@shop.example");
    CHECK(s.attachments == 1);
    CHECK(s.inlines == 1);
    CHECK(s.snippet == "Hello Alice, your invoice is attached.");
    CHECK(s.search_text ==
          "shop team team@shop.example your invoice 42 bounce@shop.example alice doe alice@example.net "
          "carol@example.net audit@shop.example support help@shop.example hello alice your invoice is attached. "
          "invoice-42.pdf");
    inspect::message_view empty;
    auto e = mp::summarize(sink::captured_message{}, empty);
    CHECK(e.from.address == "");
    CHECK(e.search_text == "");
}

TEST_CASE("mailpit: the query is split at spaces outside quotes") {
    CHECK(mp::split_query(R"(subject:"Invoice 42"  hello "two words" -to:bob)") ==
          std::vector<std::string>{"subject:Invoice 42", "hello", "two words", "-to:bob"});
    CHECK(mp::split_query(R"( "" " a ")").size() == 1);
    CHECK(mp::split_query("").empty());
}

TEST_CASE("mailpit: search terms") {
    auto q = mp::parse_query(
        R"(TO:Alice from:<team@shop.example> subject:"Invoice 42" !is:read Hello, -has:inline x:)");
    REQUIRE(q.terms.size() == 7);
    using f = mp::search_term::field;
    CHECK((q.terms[0].what == f::to && q.terms[0].value == "alice" && !q.terms[0].exclude));
    CHECK((q.terms[1].what == f::from && q.terms[1].value == "team@shop.example"));
    CHECK((q.terms[2].what == f::subject && q.terms[2].value == "Invoice 42"));
    CHECK((q.terms[3].what == f::read && q.terms[3].exclude));
    CHECK((q.terms[4].what == f::text && q.terms[4].value == "hello"));
    CHECK((q.terms[5].what == f::inline_part && q.terms[5].exclude));
    CHECK((q.terms[6].what == f::text && q.terms[6].value == "x:"));
    CHECK(q.unsupported.empty());
    CHECK(mp::parse_query("to: ,, -").terms.size() == 1);  // "to:" is empty; "-" alone is a word
    CHECK(mp::parse_query("hello before:2024-01-01 after:x").unsupported == "before:");
    CHECK(mp::parse_query("-larger:1M").unsupported == "larger:");
}

TEST_CASE("mailpit: matching a summary") {
    auto s = mp::summarize(*captured(), view());
    auto match = [&](std::string_view q, bool read = false) {
        return mp::matches(mp::parse_query(q), s, "invoice", read);
    };
    CHECK(match("to:alice"));
    CHECK(match("to:\"Alice Doe\""));
    CHECK_FALSE(match("to:carol"));
    CHECK(match("cc:carol@example.net"));
    CHECK(match("bcc:audit"));
    CHECK(match("from:TEAM@SHOP"));
    CHECK(match("reply-to:help"));
    CHECK(match("addressed:audit@shop.example"));
    CHECK(match("subject:invoice"));
    CHECK_FALSE(match("subject:receipt"));
    CHECK(match("message-id:abc.123"));
    CHECK(match("tag:Invoice"));
    CHECK_FALSE(match("tag:invoices"));
    CHECK(match("is:unread"));
    CHECK(match("is:read", true));
    CHECK_FALSE(match("is:read"));
    CHECK(match("is:tagged has:attachment has:inline"));
    CHECK(match("\"your invoice is\" ATTACHED"));
    CHECK(match("invoice-42.pdf"));
    CHECK_FALSE(match("attached -alice"));
    CHECK(match("attached -bob"));
    CHECK(match(""));
}

TEST_CASE("mailpit: header names as Go writes them") {
    CHECK(mp::canonical_key("message-id") == "Message-Id");
    CHECK(mp::canonical_key("MIME-VERSION") == "Mime-Version");
    CHECK(mp::canonical_key("x-flow") == "X-Flow");
    CHECK(mp::canonical_key("odd name") == "odd name");
    CHECK(mp::canonical_key("dkim-signature2") == "Dkim-Signature2");
    auto h = mp::headers_json(
        "subject: a\r\nReceived: one\r\n\ttwo\r\nreceived: three\r\nX-B: \xff\r\n\r\nBody: no\r\n");
    CHECK(boost::json::serialize(h) ==
          R"({"Received":["one\ttwo","three"],"Subject":["a"],"X-B":[")" "\xef\xbf\xbd" R"("]})");
}

TEST_CASE("mailpit: a summary and a message in Mailpit's shape") {
    auto mp_ = captured();
    const auto& m = *mp_;
    auto v = view();
    auto s = mp::summarize(m, v);
    CHECK(boost::json::serialize(mp::summary_json(m, s, true)) ==
          R"({"ID":"7","MessageID":"abc.123@shop.example","Read":true,)"
          R"("From":{"Name":"Shop Team","Address":"team@shop.example"},)"
          R"("To":[{"Name":"Alice Doe","Address":"alice@example.net"}],)"
          R"("Cc":[{"Name":"","Address":"Carol@Example.net"}],"Bcc":[{"Name":"","Address":"audit@shop.example"}],)"
          R"("ReplyTo":[{"Name":"Support","Address":"help@shop.example"}],"Subject":"Your Invoice 42",)"
          R"("Created":"2023-11-14T22:13:21.234Z","Username":"","Tags":["invoice"],"Size":5000,"Attachments":1,)"
          R"("Snippet":"Hello Alice, your invoice is attached."})");
    auto o = mp::message_json(m, v, s);
    CHECK(boost::json::serialize(o["ReturnPath"]) == R"("bounce@shop.example")");
    CHECK(boost::json::serialize(o["Date"]) == R"("2023-11-14T22:13:20.000Z")");
    CHECK(boost::json::serialize(o["Inline"]) ==
          R"([{"PartID":"1.1.3","FileName":"logo.png","ContentType":"image/png","ContentID":"logo@shop","Size":68}])");
    CHECK(boost::json::serialize(o["Attachments"]) ==
          R"([{"PartID":"1.2","FileName":"invoice-42.pdf","ContentType":"application/pdf","ContentID":"",)"
          R"("Size":1234}])");
    CHECK(boost::json::serialize(o["ListUnsubscribe"]) == R"({"Header":"","Links":[],"Errors":"","HeaderPost":""})");
    std::string keys;
    for (const auto& kv : o) keys += std::string(kv.key()) + ",";
    CHECK(keys == "ID,MessageID,From,To,Cc,Bcc,ReplyTo,ReturnPath,Subject,ListUnsubscribe,Date,Tags,Username,Text,"
                  "HTML,Size,Inline,Attachments,");
}

TEST_CASE("mailpit: Return-Path and List-Unsubscribe come from the header when it has them") {
    auto mp_ = captured();
    auto& m = *mp_;
    m.raw = sink::byte_buffer(std::string("Return-Path: <rp@shop.example>\r\nList-Unsubscribe: <mailto:u@shop.example>,"
                                          "\r\n <https://shop.example/u?x=1>\r\nList-Unsubscribe-Post: "
                                          "List-Unsubscribe=One-Click\r\n\r\n"));
    inspect::message_view v;
    auto o = mp::message_json(m, v, mp::summarize(m, v));
    CHECK(boost::json::serialize(o["ReturnPath"]) == R"("rp@shop.example")");
    CHECK(boost::json::serialize(o["Date"]) == R"("2023-11-14T22:13:21.234Z")");  // no Date: the received time
    CHECK(boost::json::serialize(o["ListUnsubscribe"]) ==
          R"({"Header":"<mailto:u@shop.example>, <https://shop.example/u?x=1>",)"
          R"("Links":["mailto:u@shop.example","https://shop.example/u?x=1"],"Errors":"",)"
          R"("HeaderPost":"List-Unsubscribe=One-Click"})");
}

TEST_CASE("mailpit: the list's counts and the info document") {
    mp::list_counts n{5, 2, 3, 1, 1, {"a", "b"}};
    CHECK(boost::json::serialize(mp::list_json(n, boost::json::array{1, 2})) ==
          R"({"total":5,"unread":2,"count":2,"messages_count":3,"messages_unread":1,"start":1,)"
          R"("tags":["a","b"],"messages":[1,2]})");
    mp::info i;
    i.messages = 3;
    i.unread = 2;
    i.bytes = 900;
    i.tags = {{"a", 2}, {"b", 1}};
    i.uptime_s = 4;
    i.memory = 5;
    i.deleted = 6;
    i.accepted = 7;
    i.accepted_bytes = 8;
    i.rejected = 9;
    CHECK(boost::json::serialize(mp::info_json(i)) ==
          R"({"Version":")" SMTP_BLACKHOLE_VERSION R"(","LatestVersion":"disabled","Database":"","DatabaseSize":900,)"
          R"("Messages":3,"Unread":2,"Tags":{"a":2,"b":1},"RuntimeStats":{"Uptime":4,"Memory":5,)"
          R"("MessagesDeleted":6,"SMTPAccepted":7,"SMTPAcceptedSize":8,"SMTPRejected":9,"SMTPIgnored":0}})");
}
