// Message inspection: a captured message parsed with GMime 3 when it is asked for (never on the SMTP path), as
// a person reads it: decoded header fields (RFC 2047 encoded words, RFC 2231 parameters), the text and HTML
// bodies decoded to UTF-8, and the MIME tree with its parts. Nothing MIME-related is written by hand here.
// Malformed input gives what GMime recovers; no function here throws or fails on any bytes.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace inspect {

struct address {
    std::string name;     // display name, decoded ("" if none)
    std::string address;  // addr-spec as written ("" for a group or an unparsable mailbox)
    bool operator==(const struct address&) const = default;
};

// One node of the MIME tree, in depth-first order. Ids are IMAP section numbers (RFC 3501 6.4.5): "1" for the
// body of a message that is not multipart, "1", "2", "2.1"... under a multipart; a multipart node has an id too,
// except the top-level one, which IMAP does not number: its id is "". A message/rfc822 part is a leaf.
// `attachment`: said to be one (Content-Disposition: attachment), or not said to be inline and with a file name
// or a whole message in it; multiparts and inline parts never are.
struct part_info {
    std::string id;
    std::string content_type;       // "text/plain", "multipart/alternative", lower-case
    std::string charset;            // "" when none
    std::string transfer_encoding;  // "base64", "quoted-printable", "7bit"...; "" when none
    std::uint64_t size = 0;         // octets once the transfer encoding is decoded (0 for a multipart)
    std::string filename;           // decoded (RFC 2231, RFC 2047), "" when none
    std::string disposition;        // "inline", "attachment" or ""
    std::string content_id;         // without the angle brackets, "" when none
    bool attachment = false;        // a part a mail client would list as an attachment
    bool operator==(const part_info&) const = default;
};

struct message_view {
    std::string subject;  // decoded
    std::optional<address> from;
    std::vector<address> to, cc, reply_to;
    std::optional<std::int64_t> date_ms;  // the Date field as Unix milliseconds, when it parses
    std::string message_id;               // without the angle brackets
    std::string text, html;               // the first text/plain and text/html parts that are not attachments,
                                          // decoded to UTF-8, with LF line ends
    std::vector<part_info> parts;
    std::size_t attachments = 0;  // parts with `attachment`
};

// How much parse() reads: everything, or what a message list and a search need (the parts' sizes stay 0 and
// `html` empty, which saves decoding every part).
enum class depth { whole, summary };

// Parses `raw` (a whole or truncated message). Never throws.
message_view parse(std::string_view raw, depth d = depth::whole);

struct part_content {
    part_info info;
    std::string data;  // transfer-decoded octets (text parts are not converted: their charset says what they are)
};

// One part by its id; nullopt when there is no such part (or it is a multipart).
std::optional<part_content> part(std::string_view raw, std::string_view id);

}  // namespace inspect
