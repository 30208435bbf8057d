// The session state machine's core: replies, the byte stream cut into phases (command lines, overlong lines,
// DATA body, BDAT chunks), the transaction's end and the session's close. RFC 5321 4.1, 4.5.3 (limits),
// RFC 2920 (pipelining), RFC 3030 (BDAT). Commands: session_commands.cpp; message content: session_body.cpp.
#include "smtp/session.hpp"

#include <algorithm>
#include <cstring>

#include "smtp/ascii.hpp"
#include "smtp/limits.hpp"

namespace smtp {

session::session(const profile& p, observer& obs, std::uint64_t id) noexcept : prof_(p), obs_(obs), id_(id) {}

void session::open() { reply(reply_id::greeting); }

void session::reply(reply_id id) {
    out_ += prof_.replies().get(id);
    obs_.on_reply(describe(id).code);
}

// A refusal inside a transaction: the sink attributes it (to a flow) as well as counting the reply. `header` is
// the header section read so far for a refusal at the end of data, else empty.
void session::refuse(reply_id id, std::string_view header) {
    reply(id);
    obs_.on_refusal(env_, header, describe(id).code);
}

void session::reply_raw(std::string_view text, unsigned short code) {
    out_ += text;
    obs_.on_reply(code);
}

void session::output_written(std::size_t n) noexcept {
    out_done_ += n;
    if (out_done_ >= out_.size()) {
        out_.clear();
        out_done_ = 0;
    }
}

feed_result session::feed(std::string_view in) {
    if (starttls_) return {0, action::start_tls};
    std::size_t pos = 0;
    while (pos < in.size() && !closing_ && !starttls_) {
        auto rest = in.substr(pos);
        std::size_t used = 0;
        switch (phase_) {
        case phase::command: used = read_command(rest, pos == 0); break;
        case phase::overlong_line: used = skip_overlong_line(rest); break;
        case phase::data: used = read_data(rest); break;
        case phase::bdat: used = read_bdat_chunk(rest); break;
        }
        if (used == 0) break;  // a partial command line: the caller passes it again, with more
        pos += used;
    }
    if (closing_) pos = in.size();  // nothing after QUIT or a 421 is read
    if (starttls_ && !closing_) return {pos, action::start_tls};  // what follows is plaintext to drop
    return {pos, closing_ ? action::close_after_flush : action::none};
}

// A command line, handled once its LF is in `in`; 0 until then. `resumed`: `in` starts with the partial line
// of the last call, whose first scanned_ bytes hold no LF (so a long line fed in pieces is searched once).
std::size_t session::read_command(std::string_view in, bool resumed) {
    std::size_t from = resumed ? scanned_ : 0;
    auto* lf = static_cast<const char*>(std::memchr(in.data() + from, '\n', in.size() - from));
    if (!lf) {
        if (in.size() > limits::command_line) {
            phase_ = phase::overlong_line;  // drop it up to its LF, then say so
            scanned_ = 0;
            return in.size();
        }
        scanned_ = in.size();
        return 0;
    }
    scanned_ = 0;
    auto len = std::size_t(lf - in.data()) + 1;  // with its line ending
    if (len > limits::command_line)
        reply(reply_id::line_too_long);
    else
        on_line(ascii::without_cr(in.substr(0, len - 1)));
    after_unit(len < in.size());
    return len;
}

// The rest of a line over limits::command_line: dropped up to its LF, then refused.
std::size_t session::skip_overlong_line(std::string_view in) {
    auto lf = in.find('\n');
    if (lf == std::string_view::npos) return in.size();
    phase_ = phase::command;
    reply(reply_id::line_too_long);
    after_unit(lf + 1 < in.size());
    return lf + 1;
}

// DATA's body up to and including CR LF . CR LF (the scanner takes every byte before it).
std::size_t session::read_data(std::string_view in) {
    auto r = scanner_.scan(in, [this](std::string_view s) { on_content(s); });
    if (r.ended) {
        phase_ = phase::command;
        finish_message(body_kind::data);
        after_unit(r.consumed < in.size());
    }
    return r.consumed;
}

// A BDAT chunk's bytes, counted off its size; a refused chunk is read all the same, and dropped.
std::size_t session::read_bdat_chunk(std::string_view in) {
    auto take = std::size_t(std::min<std::uint64_t>(bdat_left_, in.size()));
    if (!bdat_error_) on_content(in.substr(0, take));
    bdat_left_ -= take;
    if (bdat_left_ == 0) {
        phase_ = phase::command;
        finish_bdat_chunk();
        after_unit(take < in.size());
    }
    return take;
}

// After each command or body: a pending shutdown takes effect between transactions, and without
// PIPELINING a client must wait for each reply before sending more (RFC 2920 3.1).
void session::after_unit(bool more_input) {
    if (closing_ || starttls_) return;
    if (phase_ == phase::command && more_input && !prof_.enabled(extension::pipelining)) {
        reply(reply_id::bad_pipelining);
        return close();
    }
    if (shutdown_pending_ && txn_ == txn::none && phase_ == phase::command) {
        reply(reply_id::shutting_down);
        close();
    }
}

void session::feed_eof() noexcept {
    phase_ = phase::command;
    close();
}

action session::request_shutdown() {
    if (closing_) return action::close_after_flush;
    shutdown_pending_ = true;
    after_unit(false);
    return closing_ ? action::close_after_flush : action::none;
}

void session::timed_out() {
    if (closing_) return;
    reply(reply_id::timeout);
    close();
}

void session::tls_established(std::string_view info) {
    starttls_ = false;
    tls_ = true;
    tls_info_.assign(info);
    reset_transaction();
    helo_done_ = false;
    helo_.clear();
    auth_user_.clear();
    sasl_.reset();
}

// The one place a transaction ends, whatever its outcome: accepted, refused at the end of its data, RSET,
// EHLO/HELO, STARTTLS, and through close() QUIT and the connection's end. Harmless when none is open.
void session::reset_transaction() noexcept {
    txn_ = txn::none;
    env_.clear();
    size_exceeded_ = false;
}

// The session is over (QUIT, a last 421 or 503, the client's EOF): so is a transaction left open.
void session::close() noexcept {
    reset_transaction();
    closing_ = true;
}

}  // namespace smtp
