// Building the prebuilt transaction bytes. See message.hpp.
#include "message.hpp"

namespace loadgen {
namespace {

constexpr std::string_view words =
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et "
    "dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex "
    "ea commodo consequat. Duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore eu ";

constexpr std::size_t line_max = 78;  // RFC 5322 2.1.1: lines SHOULD be at most 78 characters

// Exactly `n` bytes of CRLF-terminated text lines (n == 1 cannot be a line: one more space before the end).
void pad(std::string& out, std::size_t n, std::size_t& cursor) {
    std::size_t line = 0;
    while (n > 0) {
        std::size_t len = std::min(n, line_max);
        if (n - len == 1) --len;  // never leave a single byte for the last line
        if (len < 2) {            // n == 1: widen the previous line by one byte
            if (!out.empty()) out.insert(out.size() - 2, 1, ' ');
            return;
        }
        std::size_t text = len - 2;
        for (std::size_t i = 0; i < text; ++i) {
            // Every 16th line starts with a dot, so the sink's dot-unstuffing is exercised.
            out += (i == 0 && line % 16 == 15) ? '.' : words[cursor++ % words.size()];
        }
        out += "\r\n";
        n -= len;
        ++line;
    }
}

}  // namespace

std::string build_message(const plan& p, const std::string& flow, std::size_t index) {
    std::string head = "Date: Mon, 23 Nov 2026 20:25:51 +0000\r\nFrom: Load Generator <" + p.from + ">\r\nTo: <rcpt1@" +
                       p.to_domain + ">\r\nSubject: smtp-blackhole load test\r\nMessage-ID: <loadgen." +
                       std::to_string(index) + "@loadgen.test>\r\n";
    if (!flow.empty()) head += "X-Flow: " + flow + "\r\n";
    std::string mime = head +
        "MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"=_lg_b\"\r\n\r\n"
        "This is a multi-part message in MIME format.\r\n\r\n"
        "--=_lg_b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n";
    std::string html = "--=_lg_b\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n"
                       "<html><body><p>smtp-blackhole load test</p>\r\n";
    std::string tail = "</body></html>\r\n--=_lg_b--\r\n";
    std::size_t cursor = 0;
    if (mime.size() + html.size() + tail.size() + 8 <= p.size) {
        std::size_t room = p.size - mime.size() - html.size() - tail.size();
        std::size_t text = room / 2, markup = room - text;
        pad(mime, text, cursor);
        mime += html;
        pad(mime, markup, cursor);
        mime += tail;
        return mime;
    }
    // Too small for the MIME skeleton: the header section and a plain body.
    head += "\r\n";
    if (head.size() + 2 <= p.size) pad(head, p.size - head.size(), cursor);
    return head;
}

void dot_stuff(std::string_view in, std::string& out) {
    bool line_start = true;
    for (char c : in) {
        if (line_start && c == '.') out += '.';
        out += c;
        line_start = c == '\n';
    }
    if (!in.empty() && !in.ends_with("\r\n")) out += "\r\n";
    out += ".\r\n";
}

std::vector<transaction_bytes> build_transactions(const plan& p) {
    std::vector<transaction_bytes> out;
    for (std::size_t f = 0; f < p.flows.size(); ++f) {
        transaction_bytes t;
        t.flow = p.flows[f];
        t.message = build_message(p, t.flow, f);
        t.mail = "MAIL FROM:<" + p.from + "> SIZE=" + std::to_string(t.message.size()) + "\r\n";
        for (unsigned r = 1; r <= p.recipients; ++r) t.rcpts.push_back("RCPT TO:<rcpt" + std::to_string(r) + "@" + p.to_domain + ">\r\n");
        std::string envelope = t.mail;
        for (const auto& r : t.rcpts) envelope += r;
        t.envelope_data = envelope + "DATA\r\n";
        dot_stuff(t.message, t.data_body);
        t.bdat_command = "BDAT " + std::to_string(t.message.size()) + " LAST\r\n";
        t.bdat = envelope + t.bdat_command + t.message;
        out.push_back(std::move(t));
    }
    return out;
}

}  // namespace loadgen
