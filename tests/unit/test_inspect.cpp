// Message inspection (src/inspect/, GMime) against the corpus in tests/corpus/: messages built by Python's email
// package and by nodemailer, and a hand-made malformed one. Exact decoded fields, MIME trees and part contents;
// truncated copies and every cut of every corpus file parse without failing.
#include <doctest/doctest.h>

#include <fstream>
#include <iterator>
#include <random>

#include "inspect/html_text.hpp"
#include "inspect/message.hpp"
#include "smtp/base64.hpp"

namespace {

using inspect::address;
using inspect::part_info;
using addresses = std::vector<address>;

std::string corpus(const std::string& name) {
    std::ifstream f(std::string(INSPECT_CORPUS_DIR) + "/" + name, std::ios::binary);
    REQUIRE(f);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

// 2026-03-03T09:15:30Z, the Date of every generated corpus message.
constexpr std::int64_t corpus_date_ms = 1772529330000;

// A container (multipart) node: no size, no attachment.
part_info container(std::string id, std::string type) {
    part_info p;
    p.id = std::move(id);
    p.content_type = std::move(type);
    return p;
}

part_info leaf(std::string id, std::string type, std::string charset, std::string te, std::uint64_t size,
               std::string filename = "", std::string disposition = "", std::string cid = "", bool att = false) {
    return {std::move(id), std::move(type), std::move(charset), std::move(te), size, std::move(filename),
            std::move(disposition), std::move(cid), att};
}

std::string part_data(const std::string& raw, std::string_view id) {
    auto c = inspect::part(raw, id);
    REQUIRE(c);
    CHECK(c->info.size == c->data.size());
    return c->data;
}

}  // namespace

TEST_CASE("inspect: Python multipart/alternative, quoted-printable UTF-8, RFC 2047 header fields") {
    auto raw = corpus("python_alternative.eml");
    auto v = inspect::parse(raw);
    CHECK(v.subject == "Grüße aus Köln — your order ✓");
    REQUIRE(v.from);
    CHECK(*v.from == address{"Jürgen Müller", "juergen@example.org"});
    CHECK(v.to == addresses{{"Zoë Renée", "zoe@example.net"}, {"", "plain@example.net"}});
    CHECK(v.cc == addresses{{"Team", "team@example.com"}});
    CHECK(v.reply_to == addresses{{"Support Desk", "support@example.org"}});
    CHECK(v.date_ms == corpus_date_ms);
    CHECK(v.message_id == "alt-1@corpus.example.org");
    CHECK(v.text == "Hallo Zoë,\n\nyour order has shipped. Größe: 42 €.\n");
    CHECK(v.html == "<p>Hallo Zo&euml;,</p><p>your order has <b>shipped</b>. Größe: 42 €.</p>\n");
    CHECK(v.attachments == 0);
    CHECK(v.parts == std::vector<part_info>{container("", "multipart/alternative"),
                                            leaf("1", "text/plain", "utf-8", "quoted-printable", 57),
                                            leaf("2", "text/html", "utf-8", "quoted-printable", 78)});
    // A part's content is the transfer-decoded octets, line ends as sent.
    CHECK(part_data(raw, "1") == "Hallo Zoë,\r\n\r\nyour order has shipped. Größe: 42 €.\r\n");
}

TEST_CASE("inspect: Python attachments with RFC 2231 names, one continued over two parameters") {
    auto raw = corpus("python_attachment.eml");
    auto v = inspect::parse(raw);
    CHECK(v.subject == "Invoice 2026-03");
    CHECK(v.text == "Please find the invoice attached.\n");
    CHECK(v.html == "");
    CHECK(v.cc.empty());
    CHECK(v.reply_to.empty());
    CHECK(v.attachments == 2);
    CHECK(v.parts ==
          std::vector<part_info>{
              container("", "multipart/mixed"), leaf("1", "text/plain", "utf-8", "7bit", 35),
              leaf("2", "application/pdf", "", "base64", 54, "Rechnung März 2026.pdf", "attachment", "", true),
              leaf("3", "text/csv", "", "base64", 32,
                   "Übersicht der Bestellungen für den Monat März zweitausendsechsundzwanzig.csv", "attachment", "",
                   true)});
    CHECK(part_data(raw, "2") == "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n");
    CHECK(part_data(raw, "3") == "Straße;Größe\nKönigsallee;42\n");
}

TEST_CASE("inspect: an ISO-8859-1 message, quoted-printable body and encoded-word subject") {
    auto raw = corpus("python_latin1.eml");
    auto v = inspect::parse(raw);
    CHECK(v.subject == "Votre facture électronique");
    CHECK(*v.from == address{"Service Facturation", "facture@example.fr"});
    CHECK(v.to == addresses{{"", "client@example.fr"}});
    CHECK(v.text == "Voilà votre reçu: 12,50 francs, déjà payé.\n");
    CHECK(v.parts == std::vector<part_info>{leaf("1", "text/plain", "iso-8859-1", "quoted-printable", 44)});
    // The part itself stays in its charset.
    CHECK(part_data(raw, "1") == "Voil\xe0 votre re\xe7u: 12,50 francs, d\xe9j\xe0 pay\xe9.\r\n");
}

TEST_CASE("inspect: a Shift_JIS message, base64 body, encoded-word subject and sender name") {
    auto raw = corpus("python_shift_jis.eml");
    auto v = inspect::parse(raw);
    CHECK(v.subject == "会議のお知らせ");
    CHECK(*v.from == address{"山田太郎", "taro@example.jp"});
    // 十 is 0x8F 0x5C in Shift_JIS: its second byte is a backslash, which a wrong conversion would show.
    CHECK(v.text == "明日の会議は十時からです。\nよろしくお願いします。\n");
    CHECK(v.parts == std::vector<part_info>{leaf("1", "text/plain", "shift_jis", "base64", 50)});
    CHECK(part_data(raw, "1").substr(0, 4) == "\x96\xbe\x93\xfa");  // 明日
}

TEST_CASE("inspect: a message with no MIME at all") {
    auto raw = corpus("python_no_mime.eml");
    auto v = inspect::parse(raw);
    CHECK(v.subject == "Cron <root@host> run-parts /etc/cron.daily");
    CHECK(*v.from == address{"Cron Daemon", "cron@example.org"});  // the comment is the name (RFC 5322 3.4)
    CHECK(v.to == addresses{{"", "root@example.org"}});
    CHECK(v.date_ms == corpus_date_ms);
    CHECK(v.message_id == "");
    CHECK(v.text == "/etc/cron.daily/logrotate:\nerror: skipping \"/var/log/app.log\"\n");
    CHECK(v.parts == std::vector<part_info>{leaf("1", "text/plain", "", "", 64)});
}

TEST_CASE("inspect: nodemailer's related HTML with an inline cid: image and an RFC 2231 attachment") {
    auto raw = corpus("nodemailer_related.eml");
    auto v = inspect::parse(raw);
    CHECK(v.subject == "Ваш заказ №42 готов — votre commande est prête");
    CHECK(*v.from == address{"Ünïcode Shop", "shop@example.com"});
    CHECK(v.to == addresses{{"Ana Lima", "ana@example.com.br"}, {"", "bo@example.se"}});
    CHECK(v.cc == addresses{{"Ops, Team", "ops@example.com"}});
    CHECK(v.reply_to == addresses{{"", "no-reply@example.com"}});
    CHECK(v.date_ms == corpus_date_ms);
    CHECK(v.message_id == "nm-related@corpus.example.com");
    CHECK(v.text == "Your order 42 is ready.\nThe logo is attached inline.\n");
    CHECK(v.html == "<p>Your order <b>42</b> is ready.</p><img src=\"cid:logo@corpus.example.com\" alt=\"logo\">\n");
    CHECK(v.attachments == 1);
    const std::string invoice = "Счёт-фактура для заказа номер сорок два от третьего марта.txt";
    CHECK(v.parts == std::vector<part_info>{
                         container("", "multipart/mixed"), container("1", "multipart/alternative"),
                         leaf("1.1", "text/plain", "utf-8", "7bit", 55), container("1.2", "multipart/related"),
                         leaf("1.2.1", "text/html", "utf-8", "quoted-printable", 89),
                         leaf("1.2.2", "image/png", "", "base64", 70, "logo.png", "inline", "logo@corpus.example.com"),
                         leaf("2", "text/plain", "utf-8", "base64", 19, invoice, "attachment", "", true)});
    std::string png;
    REQUIRE(smtp::base64::decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9"
                                 "awAAAABJRU5ErkJggg==", png));
    CHECK(part_data(raw, "1.2.2") == png);
    CHECK(part_data(raw, "2") == "Итого: 42 ₽\n");
}

TEST_CASE("inspect: nodemailer's quoted-printable text with soft line breaks") {
    auto v = inspect::parse(corpus("nodemailer_plain.eml"));
    CHECK(v.subject == "Disk usage 93% on db-1");
    CHECK(*v.from == address{"", "alerts@example.com"});
    CHECK(v.text == "Disk /var/lib/postgresql is 93% full on db-1; the growth over the last day was 4.2 GiB. "
                    "Zusammenfassung: größter Verbraucher ist die Tabelle »events« (37 GiB), gefolgt von »sessions«.\n");
    CHECK(v.parts == std::vector<part_info>{leaf("1", "text/plain", "utf-8", "quoted-printable", 191)});
}

TEST_CASE("inspect: a malformed message shows what GMime recovers") {
    auto raw = corpus("malformed.eml");
    auto v = inspect::parse(raw);
    // A broken base64 word decodes to what it can; an unknown charset's word is guessed (ISO-8859-1).
    CHECK(v.subject == "??[j\xc7\xba and caf\xc3\xa9ok");
    CHECK(!v.from);  // "Broken Sender <broken@": no address
    CHECK(v.to == addresses{{"Unclosed", "to@example.org"}, {"", "ok@example.org"}});
    CHECK(!v.date_ms);
    CHECK(v.message_id == "malformed-1@corpus.example.org");
    CHECK(v.text == "café crème");  // charset x-no-such-charset: GMime's guess
    // Bad escapes stay as they are; the inner multipart never closes, so the rest is the HTML part's.
    CHECK(v.html == "<p>bad =ZZ escape and softbreak</p>\n--wrong-boundary\nnever closed\n");
    CHECK(v.attachments == 1);
    CHECK(v.parts == std::vector<part_info>{
                         container("", "multipart/mixed"), leaf("1", "text/plain", "x-no-such-charset", "8bit", 10),
                         leaf("2", "application/octet-stream", "", "base64", 11, "data.bin", "", "", true),
                         container("3", "multipart/alternative"),
                         leaf("3.1", "text/html", "utf-8", "quoted-printable", 69)});
    CHECK(part_data(raw, "1") == "caf\xe9 cr\xe8me");
    CHECK(part_data(raw, "2") == "Hello World");  // the bytes outside the base64 alphabet are skipped
}

TEST_CASE("inspect: a truncated capture shows what it holds") {
    auto raw = corpus("nodemailer_related.eml").substr(0, 1700);  // cut inside the attachment's header
    auto v = inspect::parse(raw);
    CHECK(v.subject == "Ваш заказ №42 готов — votre commande est prête");
    CHECK(v.text == "Your order 42 is ready.\nThe logo is attached inline.\n");
    CHECK(v.html == "<p>Your order <b>42</b> is ready.</p><img src=\"cid:logo@corpus.example.com\" alt=\"logo\">\n");
    REQUIRE(v.parts.size() == 7);
    CHECK(v.parts[5] == leaf("1.2.2", "image/png", "", "base64", 70, "logo.png", "inline", "logo@corpus.example.com"));
    CHECK(v.parts[6].id == "2");
    CHECK(v.parts[6].size == 0);
    CHECK(v.attachments == 1);
}

TEST_CASE("inspect: part() gives nothing for an unknown id or a multipart") {
    auto raw = corpus("nodemailer_related.eml");
    CHECK(!inspect::part(raw, "3"));
    CHECK(!inspect::part(raw, "1.2.3"));
    CHECK(!inspect::part(raw, "1"));  // multipart/alternative
    CHECK(!inspect::part(raw, ""));   // the top-level multipart
    CHECK(!inspect::part(raw, "01.1"));
    auto c = inspect::part(raw, "1.1");
    REQUIRE(c);
    CHECK(c->info == leaf("1.1", "text/plain", "utf-8", "7bit", 55));
}

TEST_CASE("inspect: empty input and header-only input") {
    auto v = inspect::parse("");
    CHECK(v.subject == "");
    CHECK(!v.from);
    CHECK(v.text == "");
    CHECK(v.attachments == 0);
    auto h = inspect::parse("Subject: only a header\r\n");
    CHECK(h.subject == "only a header");
    CHECK(h.text == "");
}

TEST_CASE("inspect: every cut of every corpus file, and random bytes, parse without failing") {
    for (const char* name : {"python_alternative.eml", "python_attachment.eml", "python_latin1.eml",
                             "python_shift_jis.eml", "python_no_mime.eml", "nodemailer_related.eml",
                             "nodemailer_plain.eml", "malformed.eml"}) {
        CAPTURE(name);
        auto raw = corpus(name);
        for (std::size_t n = 0; n <= raw.size(); ++n) {
            auto v = inspect::parse(std::string_view(raw).substr(0, n));
            for (const auto& p : v.parts)
                if (p.content_type.starts_with("multipart/") == inspect::part(raw.substr(0, n), p.id).has_value())
                    FAIL("part ", p.id, " of the first ", n, " octets");
        }
    }
    std::mt19937 rng(10);
    for (int i = 0; i < 200; ++i) {
        std::string junk(rng() % 600, '\0');
        for (auto& c : junk) c = static_cast<char>(rng());
        auto v = inspect::parse("Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n" + junk);
        CHECK(v.parts.size() >= 1);
    }
}

TEST_CASE("inspect: a message/rfc822 part is a leaf whose content is the message, with CRLF line ends") {
    const auto inner = corpus("nodemailer_related.eml");
    const std::string outer = "Subject: fwd\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=f\r\n\r\n"
                              "--f\r\nContent-Type: text/plain\r\n\r\nsee below\r\n"
                              "--f\r\nContent-Type: message/rfc822\r\n\r\n" + inner + "\r\n--f--\r\n";
    auto v = inspect::parse(outer);
    CHECK(v.text == "see below");
    CHECK(v.attachments == 1);
    CHECK(v.parts == std::vector<part_info>{container("", "multipart/mixed"), leaf("1", "text/plain", "", "", 9),
                                            leaf("2", "message/rfc822", "", "", inner.size(), "", "", "", true)});
    CHECK(part_data(outer, "2") == inner);
}

TEST_CASE("the words of an HTML body, read by libxml2's HTML parser") {
    CHECK(inspect::html_words("<html><head><title>T</title><style>p{}</style></head><body><p>Hello <b>W</b>orld</p>"
                              "<div>next&amp;last &lt;x&gt; &#233;&#x263A;&nbsp;end</div><!-- c --><script>x()</script>"
                              "<br/>tail") == "Hello World next&last <x> \xc3\xa9\xe2\x98\xba end tail");
    CHECK(inspect::html_words("a &bogus; b & c") == "a &bogus; b & c");
    CHECK(inspect::html_words("<SCRIPT>hidden</Script>shown <unclosed") == "shown");
    CHECK(inspect::html_words("<table><tr><td>cell</td><td>next</td></tr></table><ul><li>one<li>two</ul>") ==
          "cell next one two");
    CHECK(inspect::html_words("<p>Gr\xc3\xbc\xc3\x9f<i>e</i></p><p>\xe2\x80\x94</p>") ==
          "Gr\xc3\xbc\xc3\x9f" "e \xe2\x80\x94");
    CHECK(inspect::html_words(std::string(50000, '<') + "<div>" + std::string(300, '(')) .size() > 0);
    CHECK(inspect::html_words("") == "");
    CHECK(inspect::html_words("   ") == "");
}
