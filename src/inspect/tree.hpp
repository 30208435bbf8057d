// The MIME tree of a parsed message (internal to src/inspect/): every node in depth-first order with its IMAP
// section number (RFC 3501 6.4.5) and what its headers say (RFC 2045 content type, RFC 2183 disposition,
// RFC 2231/2047 file names, all decoded by GMime). A message/rfc822 part is a leaf: its inside is not walked.
#pragma once
#include <vector>

#include "inspect/gmime.hpp"
#include "inspect/message.hpp"

namespace inspect::detail {

struct node {
    GMimeObject* object;  // owned by the message
    part_info info;       // size not filled in (it costs a decoding)
};

// The nodes of `m`'s tree, depth-first; empty when the message has no body part at all.
std::vector<node> tree(GMimeMessage* m);

// Whether a node is a multipart (a container, with no content of its own).
bool is_container(const node& n);

// Whether `n` is a text/plain or text/html body (not an attachment) of that `type`.
bool is_body(const node& n, std::string_view type);

}  // namespace inspect::detail
