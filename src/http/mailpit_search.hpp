// Mailpit's search syntax (https://mailpit.axllent.org/docs/usage/search-filters/) over message summaries:
// words and "quoted phrases" against the search text, to: from: cc: bcc: reply-to: addressed: subject:
// message-id: tag: is:read is:unread is:tagged has:attachment has:inline, each negated by a leading - or !.
// Terms are ANDed. after:, before:, larger: and smaller: are recognised but not implemented (the caller says 501).
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "http/mailpit_summary.hpp"

namespace http::mailpit {

struct search_term {
    enum class field {
        text, to, from, cc, bcc, reply_to, addressed, subject, message_id, tag,
        read, unread, tagged, attachment, inline_part
    };
    field what = field::text;
    std::string value;  // clean()ed, except a subject's, which is compared as given (ASCII case aside)
    bool exclude = false;
};

struct search_query {
    std::vector<search_term> terms;
    std::string unsupported;  // the first filter given that is not implemented, such as "after:"; "" if none
};

// The query's arguments as Mailpit splits them: at spaces outside double quotes, quotes removed, blanks dropped.
std::vector<std::string> split_query(std::string_view q);
search_query parse_query(std::string_view q);

// Whether a message (its summary, its flow, which is its one tag, and whether it was read) matches every term.
bool matches(const search_query& q, const summary& s, std::string_view flow, bool read);

}  // namespace http::mailpit
