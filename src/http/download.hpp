// One MIME part as an HTTP download: its Content-Type (a text part's with its charset) and, for an attachment or
// a named part, a Content-Disposition with the file name (RFC 6266 4.3: an ASCII filename= for every client, and
// filename* in RFC 5987 UTF-8 percent-encoding when the name is not plain ASCII). Nothing from the message can
// break the header: a type or charset that is not a token is left out, a name's other bytes are encoded.
#pragma once
#include <string>

#include "inspect/message.hpp"

namespace http {

// "text/plain; charset=shift_jis", "image/png"; application/octet-stream for a type that is not type/subtype.
std::string part_content_type(const inspect::part_info& p);

// "attachment; filename=..." for an attachment, "inline; filename=..." for another part with a name, "" for none.
std::string part_disposition(const inspect::part_info& p);

}  // namespace http
