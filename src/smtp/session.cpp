// The session state machine's core: replies, the byte stream cut into phases (command lines, overlong lines,
// DATA body, BDAT chunks), the message content (header section kept, body passed on if asked, size limit), the
// transaction's end and the session's close. RFC 5321 4.1, 4.5.3, RFC 2920, RFC 3030, RFC 1870, RFC 5322 2.1.
#include "smtp/session.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

#include "smtp/ascii.hpp"
#include "smtp/limits.hpp"

namespace smtp {

session::session(const profile& p, observer& obs, std::uint64_t id) noexcept
    : prof_(p), obs_(obs), gate_(obs.stage_gate()), id_(id) {}

action session::open() {
    greet();
    return next_action();
}

void session::greet() {
    if (!intercept(stage::connect, resume_at::greeting)) reply(reply_id::greeting);
}

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
    std::size_t pos = 0;
    while (pos < in.size() && !halted_) {
        auto rest = in.substr(pos);
        step s{};
        switch (phase_) {
        case phase::command: s = read_command(rest, pos == 0); break;
        case phase::overlong_line: s = skip_overlong_line(rest); break;
        case phase::data: s = read_data(rest); break;
        case phase::bdat: s = read_bdat_chunk(rest); break;
        }
        if (s.used == 0) break;  // a partial command line: the caller passes it again, with more
        pos += s.used;
        if (s.unit_ended) after_unit(pos < in.size());
    }
    if (!halted_) return {pos, action::none};
    // Nothing after QUIT or a 421 is read, and silence reads and drops; after STARTTLS or a delay's verdict the
    // rest waits (to be dropped, or read after resume()).
    if (closing_ || silent_) pos = in.size();
    return {pos, next_action()};
}

// What the server does once the replies are written. After STARTTLS what follows is plaintext to drop; after a
// delay's verdict what follows waits for resume().
action session::next_action() const noexcept {
    if (abort_ != action::none) return abort_;
    if (closing_) return action::close_after_flush;
    if (waiting_) return action::wait;
    if (starttls_) return action::start_tls;
    return action::none;
}

// A command line, handled once its LF is in `in`; nothing used until then. `resumed`: `in` starts with the
// partial line of the last call, whose first scanned_ bytes hold no LF (a long line fed in pieces is searched once).
inline session::step session::read_command(std::string_view in, bool resumed) {
    std::size_t from = resumed ? scanned_ : 0;
    auto* lf = static_cast<const char*>(std::memchr(in.data() + from, '\n', in.size() - from));
    if (!lf) {
        if (in.size() > limits::command_line) {
            phase_ = phase::overlong_line;  // drop it up to its LF, then say so
            scanned_ = 0;
            return {in.size(), false};
        }
        scanned_ = in.size();
        return {0, false};
    }
    scanned_ = 0;
    auto len = std::size_t(lf - in.data()) + 1;  // with its line ending
    if (len > limits::command_line)
        reply(reply_id::line_too_long);
    else
        on_line(ascii::without_cr(in.substr(0, len - 1)));
    return {len, true};
}

// The rest of a line over limits::command_line: dropped up to its LF, then refused.
inline session::step session::skip_overlong_line(std::string_view in) {
    auto lf = in.find('\n');
    if (lf == std::string_view::npos) return {in.size(), false};
    phase_ = phase::command;
    reply(reply_id::line_too_long);
    return {lf + 1, true};
}

// DATA's body up to and including CR LF . CR LF (the scanner takes every byte before it).
inline session::step session::read_data(std::string_view in) {
    auto r = scanner_.scan(in, [this](std::string_view s) { on_content(s); });
    if (r.ended) {
        phase_ = phase::command;
        finish_message(body_kind::data);
    }
    return {r.consumed, r.ended};
}

// A BDAT chunk's bytes, counted off its size; a refused chunk is read all the same, and dropped.
inline session::step session::read_bdat_chunk(std::string_view in) {
    auto take = std::size_t(std::min<std::uint64_t>(bdat_left_, in.size()));
    if (!bdat_error_) on_content(in.substr(0, take));
    bdat_left_ -= take;
    if (bdat_left_ != 0) return {take, false};
    phase_ = phase::command;
    finish_bdat_chunk();
    return {take, true};
}

// After each command or body: a pending shutdown takes effect between transactions, and without
// PIPELINING a client must wait for each reply before sending more (RFC 2920 3.1).
void session::after_unit(bool more_input) {
    if (halted_) return;
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
    if (silent_) close();  // no transaction is open: nothing to wait for, and nothing is said
    if (closing_) return next_action();
    shutdown_pending_ = true;
    after_unit(false);
    return closing_ ? action::close_after_flush : action::none;
}

void session::timed_out() {
    if (closing_) return;
    if (!silent_) reply(reply_id::timeout);
    close();
}

void session::tls_established(std::string_view info) {
    starttls_ = false;
    update_halted();
    tls_ = true;
    tls_info_.assign(info);
    reset_transaction();
    helo_done_ = false;
    helo_.clear();
    auth_user_.clear();
    sasl_.reset();
}

// The end of a BDAT chunk: its refusal, the 250 of a chunk or, after LAST, the message's acceptance.
void session::finish_bdat_chunk() {
    if (bdat_error_) return reply(*std::exchange(bdat_error_, std::nullopt));
    if (bdat_first_) {  // the reply to the transaction's first BDAT is due: stage data
        if (intercept(stage::data, resume_at::chunk)) return;
        bdat_first_ = false;
    }
    // Too large: refused at the chunk that crossed the limit, LAST or not; the transaction is over.
    if (bdat_last_ || size_exceeded_) return finish_message(body_kind::bdat);
    prof_.replies().append_bdat_chunk(out_, bdat_chunk_);
    obs_.on_reply(250);
}

// A new message's content begins (after DATA's 354, or with the first BDAT chunk).
void session::start_body() {
    wants_body_ = false;
    size_exceeded_ = false;
    size_ = 0;
    header_.clear();
    header_line_ = 0;
    header_done_ = header_truncated_ = false;
}

// Content bytes in order (unstuffed for DATA): counted, the header section kept, the rest passed on if asked.
void session::on_content(std::string_view s) {
    size_ += s.size();
    // The header section is read whole even past the size limit, whatever the reads: it names the flow.
    if (!header_done_) s.remove_prefix(collect_header(s));
    if (size_exceeded_) return;
    if (size_ > prof_.opts().max_message_size) {
        size_exceeded_ = true;  // keep reading to the end to stay in sync, keep nothing more
        return;
    }
    if (wants_body_ && !s.empty()) obs_.on_body(s);
}

// Keeps the header section (RFC 5322 2.1: up to the first empty line) for flow keys and capture; returns how
// many bytes of `s` it took. When the section is complete, the observer says whether it wants the rest.
std::size_t session::collect_header(std::string_view s) {
    std::size_t used = 0;
    while (used < s.size() && !header_done_) {
        auto rest = s.substr(used);
        auto lf = rest.find('\n');
        auto piece = rest.substr(0, lf == std::string_view::npos ? rest.size() : lf + 1);
        auto room = limits::header_section - header_.size();
        if (piece.size() > room) {
            header_.append(piece.substr(0, room));
            used += room;
            header_truncated_ = header_done_ = true;
            break;
        }
        header_.append(piece);
        used += piece.size();
        if (lf != std::string_view::npos) {
            auto line = std::string_view(header_).substr(header_line_);
            if (line == "\r\n" || line == "\n") header_done_ = true;
            header_line_ = header_.size();
        }
    }
    if (header_done_) wants_body_ = obs_.on_header(env_, header_, header_truncated_);
    return used;
}

// The end of the message: refused if it was too large, else handed to the observer and accepted with a 250.
// Either way the transaction is over.
void session::finish_message(body_kind kind) {
    if (size_exceeded_) {
        refuse(reply_id::size_exceeded, header_);
        return reset_transaction();
    }
    if (!header_done_) {  // no empty line: the whole message is its header section
        header_done_ = true;
        wants_body_ = obs_.on_header(env_, header_, header_truncated_);
    }
    if (intercept(stage::message, kind == body_kind::data ? resume_at::data_end : resume_at::bdat_end, header_))
        return;
    message_info m;
    m.env = &env_;
    m.size = size_;
    m.header_section = header_;
    m.header_truncated = header_truncated_;
    m.smuggling_suspect = kind == body_kind::data && scanner_.suspect();
    m.kind = kind;
    m.session_id = id_;
    m.transaction = ++txn_count_;
    obs_.on_message(m);
    prof_.replies().append_queued(out_, id_, txn_count_);
    obs_.on_reply(250);
    reset_transaction();
}

// The one place a transaction ends, whatever its outcome: accepted, refused at the end of its data, RSET,
// EHLO/HELO, STARTTLS, and through close() QUIT and the connection's end. Harmless when none is open.
void session::reset_transaction() noexcept {
    txn_ = txn::none;
    env_.clear();
    size_exceeded_ = false;
    // A header section that grew past the usual size for one message does not stay with the connection.
    if (header_.capacity() > limits::header_kept) std::string().swap(header_);
    obs_.on_transaction_end();
}

// The session is over (QUIT, a last 421 or 503, the client's EOF): so is a transaction left open.
void session::close() noexcept {
    reset_transaction();
    closing_ = halted_ = true;
}

}  // namespace smtp
