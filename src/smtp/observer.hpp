// What the protocol engine tells the layer that handles mail (sink/): the one seam between them.
// The engine calls these synchronously from feed(); views are valid only during the call.
#pragma once
#include <atomic>
#include <cstdint>
#include <string_view>

#include "smtp/envelope.hpp"
#include "smtp/stage.hpp"

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

// What the session knows at a stage, for the observer's verdict. Views are valid only during the call.
struct stage_event {
    smtp::stage stage;
    const envelope& env;         // as it stands: at rcpt the recipient asked about is its last one
    std::string_view helo;       // the EHLO/HELO name (at ehlo: the one being given)
    std::string_view auth_user;  // "" when none
    std::string_view header;     // at message: the header section; else ""
};

// What the observer wants done at a stage instead of the normal course.
struct verdict {
    enum class kind : std::uint8_t {
        none,        // go on normally
        reply,       // send `code` `text` instead of the normal reply (421: and close)
        delay,       // wait delay_ms (reading nothing more), then go on normally, or reply `code` when it is set
        disconnect,  // close without a reply: a FIN, or an RST when `reset`
        silence      // reply to nothing any more, read and drop what comes, until a timeout or the client closes
    };
    kind what = kind::none;
    unsigned short code = 0;     // 400..599; for delay 0 means "then go on normally"
    std::string_view text = {};  // the reply's text, "" for the code's usual one; valid until the next observer call
    std::uint64_t delay_ms = 0;
    bool reset = false;
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
    // A stage is reached (see smtp/stage.hpp): the verdict says whether the session goes on normally.
    virtual verdict on_stage(const stage_event&) noexcept { return {}; }

    // Whether the session asks on_stage at all: not while the value this refers to is 0, so that a stage costs
    // one load when nothing could answer (no fault rule). By default always 1. Read once, when the session starts.
    const std::atomic<std::uint64_t>& stage_gate() const noexcept { return *gate_; }

protected:
    void set_stage_gate(const std::atomic<std::uint64_t>& gate) noexcept { gate_ = &gate; }

private:
    inline static const std::atomic<std::uint64_t> always_ask_{1};
    const std::atomic<std::uint64_t>* gate_ = &always_ask_;
};

}  // namespace smtp
