// A captured message as Mailpit's list and search see it: its addresses, subject, Message-ID, counts of
// attachments and inline parts, a snippet of its text and Mailpit's lower-cased search text, made once from
// inspect::parse's decoded view (so never on the SMTP path). Also the text helpers Mailpit's search uses.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "inspect/message.hpp"
#include "sink/capture.hpp"

namespace http::mailpit {

// How Mailpit lists a MIME part: a body part (text, HTML, a multipart, an unnamed part) is not listed; an inline
// part (named or with a Content-ID, not an attachment) goes to Inline; an attachment to Attachments.
enum class part_role { body, inline_part, attachment };
part_role role(const inspect::part_info& p);

// Kept with the message (sink::derived_of, counted in the ring's bytes), so a list or search parses it once.
struct summary final : sink::derived_data {
    inspect::address from;  // empty name and address when there is no From
    std::vector<inspect::address> to, cc, bcc, reply_to;
    std::string subject, message_id, snippet;
    std::size_t attachments = 0, inlines = 0;
    std::string search_text;  // addresses, subject, return path, body text, attachment names; clean()ed

    std::uint64_t bytes() const noexcept override;
};

// The summary of `m` from its parsed view `v`. Bcc is what Mailpit's SMTP server makes of it: the envelope
// recipients that To and Cc do not name.
summary summarize(const sink::captured_message& m, const inspect::message_view& v);

// Mailpit's search form of a text: line breaks, tabs and < > " , ; ( ) become spaces, runs of white space one
// space, no space at either end, ASCII letters lower-case.
std::string clean(std::string_view s);

// Mailpit's snippet: the text body (or, without one, the HTML body's words: inspect::html_words) with white
// space collapsed, cut
// to at most 200 bytes at a UTF-8 character boundary with "..." after a cut.
std::string snippet(std::string_view text, std::string_view html);

}  // namespace http::mailpit
