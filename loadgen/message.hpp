// The bytes of one transaction, built once per flow and reused for every message: the envelope commands,
// the message (a realistic MIME multipart/alternative padded to the asked size), dot-stuffed for DATA
// (RFC 5321 4.5.2) and as-is for BDAT (RFC 3030). Nothing is built per message.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "options.hpp"

namespace loadgen {

struct transaction_bytes {
    std::string flow;                    // "" when no X-Flow header is sent (the sink counts it as _default)
    std::string message;                 // the message as the sink counts it (size() == --size when possible)
    std::string mail;                    // "MAIL FROM:<...> SIZE=n\r\n"
    std::vector<std::string> rcpts;      // "RCPT TO:<...>\r\n" each
    std::string envelope_data;           // mail + rcpts + "DATA\r\n" (pipelined DATA)
    std::string data_body;               // the dot-stuffed message + ".\r\n"
    std::string bdat;                    // mail + rcpts + "BDAT n LAST\r\n" + message
    std::string bdat_command;            // "BDAT n LAST\r\n" alone (BDAT without pipelining)
};

// The message text for `flow` of exactly `size` bytes when size allows (else the smallest it can be).
std::string build_message(const plan& p, const std::string& flow, std::size_t index);

// Appends `in` dot-stuffed (a leading "." doubled on every line) and the ".\r\n" end of data.
void dot_stuff(std::string_view in, std::string& out);

std::vector<transaction_bytes> build_transactions(const plan& p);

}  // namespace loadgen
