// What the protocol engine tells the layer that handles mail (sink/): the one seam between them.
// The engine calls these synchronously from feed(); views are valid only during the call.
#pragma once
#include <cstdint>
#include <string_view>

#include "smtp/envelope.hpp"

namespace smtp {

enum class body_kind : std::uint8_t { data, bdat };

// One accepted transaction, handed over once, before its 250 reply is queued.
struct message_info {
    const envelope* env = nullptr;       // with the session's EHLO/HELO argument, AUTH user and TLS
    std::uint64_t size = 0;              // octets after dot-unstuffing (DATA) or as sent (BDAT)
    std::string_view header_section;     // up to and including the empty line; capped (limits::header_section)
    bool header_truncated = false;       // the header section was longer than the cap
    bool smuggling_suspect = false;      // a bare-LF / bare-CR "." line was seen (data_scanner)
    body_kind kind = body_kind::data;
    std::uint64_t session_id = 0;
    std::uint64_t transaction = 0;       // 1, 2, ... within the session
};

class observer {
public:
    virtual ~observer() = default;
    // The header section of the message being received is complete (its empty line), or was cut at
    // limits::header_section, or the message ended without an empty line (then it is all header). Return true
    // to receive every later content byte through on_body, so that header + body bytes are the whole message.
    virtual bool on_header(const envelope&, std::string_view /*header*/, bool /*truncated*/) noexcept { return false; }
    // Content bytes after the header section, in order (after unstuffing for DATA), if on_header asked for them.
    virtual void on_body(std::string_view) noexcept {}
    // The transaction is accepted: counted here, before the 250 is sent.
    virtual void on_message(const message_info&) noexcept = 0;
    // A 4xx/5xx reply inside a transaction: to RCPT (header empty) or at the end of the data (the header
    // section as far as it was read). The envelope is as it stood.
    virtual void on_refusal(const envelope&, std::string_view /*header*/, unsigned short /*code*/) noexcept {}
    // Every reply sent, by its code (2xx, 4xx, 5xx; 354 and 221 included).
    virtual void on_reply(unsigned short code) noexcept = 0;
    // The transaction is over, whatever its outcome: accepted (after on_message), refused, RSET, EHLO/HELO,
    // STARTTLS, the end of the input; also called when no transaction was open. Whatever the observer keeps
    // for the current message can go.
    virtual void on_transaction_end() noexcept {}
};

}  // namespace smtp
