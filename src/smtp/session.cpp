// The session state machine: command dispatch, transaction state, DATA and BDAT reception.
// RFC 5321 4.1 (commands, order), 4.5.3 (limits), RFC 2920 (pipelining), RFC 3030 (BDAT, BINARYMIME).
// The ESMTP parameters of MAIL and RCPT are checked by the tables in parameters.cpp.
#include "smtp/session.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

#include "smtp/ascii.hpp"
#include "smtp/command.hpp"
#include "smtp/limits.hpp"
#include "smtp/parameters.hpp"

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
    std::size_t pos = 0;
    if (starttls_) return {0, action::start_tls};
    while (pos < in.size() && !closing_ && !starttls_) {
        switch (phase_) {
        case phase::command: {
            std::size_t from = pos + (pos == 0 ? scanned_ : 0);
            auto* lf = static_cast<const char*>(std::memchr(in.data() + from, '\n', in.size() - from));
            if (!lf) {
                if (in.size() - pos > limits::command_line) {
                    phase_ = phase::overlong_line;  // drop it up to its LF, then say so
                    pos = in.size();
                    scanned_ = 0;
                } else {
                    scanned_ = in.size() - pos;
                    return {pos, action::none};
                }
                break;
            }
            scanned_ = 0;
            std::size_t end = std::size_t(lf - in.data());
            std::size_t len = end + 1 - pos;  // with its line ending
            auto line = ascii::without_cr(in.substr(pos, end - pos));
            pos = end + 1;
            if (len > limits::command_line)
                reply(reply_id::line_too_long);
            else
                on_line(line);
            after_unit(pos < in.size());
            break;
        }
        case phase::overlong_line: {
            auto* lf = static_cast<const char*>(std::memchr(in.data() + pos, '\n', in.size() - pos));
            if (!lf) {
                pos = in.size();
                break;
            }
            pos = std::size_t(lf - in.data()) + 1;
            phase_ = phase::command;
            reply(reply_id::line_too_long);
            after_unit(pos < in.size());
            break;
        }
        case phase::data: {
            auto r = scanner_.scan(in.substr(pos), [this](std::string_view s) { on_content(s); });
            pos += r.consumed;
            if (r.ended) {
                phase_ = phase::command;
                finish_message(body_kind::data);
                after_unit(pos < in.size());
            }
            break;
        }
        case phase::bdat: {
            auto take = std::size_t(std::min<std::uint64_t>(bdat_left_, in.size() - pos));
            if (!bdat_error_) on_content(in.substr(pos, take));
            pos += take;
            bdat_left_ -= take;
            if (bdat_left_ == 0) {
                phase_ = phase::command;
                finish_bdat_chunk();
                after_unit(pos < in.size());
            }
            break;
        }
        }
    }
    if (closing_) pos = in.size();  // nothing after QUIT or a 421 is read
    if (starttls_ && !closing_) return {pos, action::start_tls};  // what follows is plaintext to drop
    return {pos, closing_ ? action::close_after_flush : action::none};
}

// After each command or body: a pending shutdown takes effect between transactions, and without
// PIPELINING a client must wait for each reply before sending more (RFC 2920 3.1).
void session::after_unit(bool more_input) {
    if (closing_ || starttls_) return;
    if (phase_ == phase::command && more_input && !prof_.enabled(extension::pipelining)) {
        reply(reply_id::bad_pipelining);
        closing_ = true;
        return;
    }
    if (shutdown_pending_ && txn_ == txn::none && phase_ == phase::command) {
        reply(reply_id::shutting_down);
        closing_ = true;
    }
}

void session::feed_eof() noexcept {
    reset_transaction();
    phase_ = phase::command;
    closing_ = true;
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
    closing_ = true;
}

void session::on_line(std::string_view line) {
    if (sasl_.active()) {  // a line answering an AUTH challenge, not a command
        if (prof_.opts().auth) return on_auth_step(sasl_.respond(line, *prof_.opts().auth));
        sasl_.reset();
    }
    auto cmd = parse_command(line);
    switch (cmd.v) {
    case verb::ehlo: return do_helo(cmd.args, true);
    case verb::helo: return do_helo(cmd.args, false);
    case verb::mail: return do_mail(cmd.args);
    case verb::rcpt: return do_rcpt(cmd.args);
    case verb::data: return do_data(cmd.args);
    case verb::bdat: return do_bdat(cmd.args);
    case verb::rset:
        if (!cmd.args.empty()) return reply(reply_id::syntax_no_args);
        reset_transaction();
        return reply(reply_id::rset_ok);
    case verb::noop: return reply(reply_id::noop_ok);  // RFC 5321 4.1.1.9: an argument is allowed
    case verb::quit:
        if (!cmd.args.empty()) return reply(reply_id::syntax_no_args);
        reply(reply_id::quit);
        closing_ = quit_ = true;
        return;
    case verb::vrfy:
        if (cmd.args.empty()) return reply(reply_id::syntax_vrfy);
        return reply(reply_id::vrfy);
    case verb::help: return reply_raw(prof_.help_reply(), 214);
    case verb::expn: return reply(reply_id::not_implemented);
    case verb::starttls: return do_starttls(cmd.args);
    case verb::auth: return do_auth(cmd.args);
    case verb::unknown: return reply(reply_id::unknown_command);
    }
}

void session::do_helo(std::string_view args, bool extended) {
    if (!is_helo_argument(args)) return reply(reply_id::syntax_helo);
    reset_transaction();  // RFC 5321 4.1.4: EHLO/HELO resets the transaction like RSET
    helo_.assign(args);
    helo_done_ = true;
    if (extended)
        reply_raw(prof_.ehlo_reply(tls_), 250);
    else
        reply(reply_id::helo_ok);
}

void session::do_mail(std::string_view args) {
    if (prof_.opts().require_tls && !tls_) return reply(reply_id::tls_required);
    if (!helo_done_) return reply(reply_id::need_helo);
    if (txn_ != txn::none) return reply(reply_id::nested_mail);
    auto p = parse_path(args, path_kind::reverse);
    if (!p.ok) return reply(p.error);
    env_.clear();  // of what a refused MAIL may have recorded
    if (auto refusal = mail_parameters(p.params, prof_, env_)) return reply(*refusal);
    if (p.non_ascii && !env_.smtputf8()) return reply(reply_id::need_smtputf8);
    env_.set_mail_from(p.address);
    env_.set_session(helo_, auth_user_, tls_info_);
    txn_ = txn::mail;
    reply(reply_id::mail_ok);
}

void session::do_rcpt(std::string_view args) {
    if (txn_ == txn::none) return reply(reply_id::need_mail);
    if (txn_ == txn::bdat) return refuse(reply_id::bad_sequence);
    auto p = parse_path(args, path_kind::forward);
    if (!p.ok) return refuse(p.error);
    if (env_.recipient_count() >= prof_.opts().max_recipients) return refuse(reply_id::too_many_recipients);
    envelope::recipient r;
    if (auto refusal = rcpt_parameters(p.params, prof_, env_, r)) return refuse(*refusal);
    if (p.non_ascii && !env_.smtputf8()) return refuse(reply_id::need_smtputf8);
    r.address = env_.keep(p.address);
    env_.add_recipient(r);
    txn_ = txn::rcpt;
    reply(reply_id::rcpt_ok);
}

void session::do_data(std::string_view args) {
    if (!args.empty()) return reply(reply_id::syntax_no_args);
    if (txn_ == txn::none) return reply(reply_id::need_mail);
    if (txn_ == txn::bdat) return reply(reply_id::mixed_data_bdat);
    if (txn_ != txn::rcpt) return reply(reply_id::need_rcpt);
    if (env_.body() == body_type::binary_mime) return reply(reply_id::binarymime_needs_bdat);
    reply(reply_id::data_start);
    scanner_.reset();
    start_body();
    phase_ = phase::data;
}

void session::do_bdat(std::string_view args) {
    // RFC 3030 2: BDAT chunk-size [LAST]
    auto sp = args.find(' ');
    auto size_text = args.substr(0, sp);
    auto rest = sp == std::string_view::npos ? std::string_view{} : args.substr(sp + 1);
    rest = ascii::trim_left<ascii::is_sp>(rest);
    std::uint64_t n = 0;
    if (!parse_number(size_text, n, limits::max_number_digits) || (!rest.empty() && !ascii::iequals(rest, "LAST")))
        return reply(reply_id::syntax_bdat);
    bdat_left_ = bdat_chunk_ = n;
    bdat_last_ = !rest.empty();
    // The chunk is read even when it is refused, so that its bytes are never taken for commands.
    if (!prof_.enabled(extension::chunking))
        bdat_error_ = reply_id::not_implemented;
    else if (txn_ == txn::none)
        bdat_error_ = reply_id::need_mail;
    else if (txn_ == txn::mail)
        bdat_error_ = reply_id::need_rcpt;
    else
        bdat_error_ = std::nullopt;
    if (!bdat_error_ && txn_ == txn::rcpt) {
        txn_ = txn::bdat;
        start_body();
    }
    phase_ = phase::bdat;
    if (n == 0) {
        phase_ = phase::command;
        finish_bdat_chunk();
    }
}

void session::finish_bdat_chunk() {
    if (bdat_error_) return reply(*std::exchange(bdat_error_, std::nullopt));
    if (size_exceeded_) {  // refused at the chunk that crossed the limit; the transaction is over
        refuse(reply_id::size_exceeded, header_);
        return reset_transaction();
    }
    if (bdat_last_) return finish_message(body_kind::bdat);
    prof_.replies().append_bdat_chunk(out_, bdat_chunk_);
    obs_.on_reply(250);
}

void session::do_starttls(std::string_view args) {
    if (!prof_.starttls_offered(false)) return reply(reply_id::not_implemented);
    if (tls_) return reply(reply_id::tls_active);
    if (!args.empty()) return reply(reply_id::syntax_no_args);
    reply(reply_id::starttls_ready);
    starttls_ = true;
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

// RFC 4954 4: AUTH mechanism [initial-response]
void session::do_auth(std::string_view args) {
    if (prof_.opts().require_tls && !tls_) return reply(reply_id::tls_required);
    if (!prof_.opts().auth || !prof_.enabled(extension::auth)) return reply(reply_id::not_implemented);
    if (!prof_.auth_offered(tls_)) return reply(reply_id::auth_needs_tls);
    if (!helo_done_) return reply(reply_id::need_helo);
    if (!auth_user_.empty()) return reply(reply_id::auth_already);
    if (txn_ != txn::none) return reply(reply_id::auth_in_transaction);
    auto sp = args.find(' ');
    auto mechanism = args.substr(0, sp);
    auto initial = sp == std::string_view::npos ? std::string_view{} : args.substr(sp + 1);
    if (mechanism.empty() || initial.find(' ') != std::string_view::npos) return reply(reply_id::syntax_auth);
    on_auth_step(sasl_.start(mechanism, initial, *prof_.opts().auth));
}

void session::on_auth_step(sasl_exchange::step s) {
    using st = sasl_exchange::status;
    switch (s.s) {
    case st::challenge:
        out_ += "334 ";
        out_ += s.challenge;
        out_ += "\r\n";
        obs_.on_reply(334);
        return;
    case st::success:
        auth_user_ = sasl_.user();
        return reply(reply_id::auth_ok);
    case st::failure: return reply(reply_id::auth_failed);
    case st::cancelled: return reply(reply_id::auth_cancelled);
    case st::bad_base64: return reply(reply_id::auth_bad_base64);
    case st::bad_mechanism: return reply(reply_id::auth_bad_mechanism);
    }
}

void session::start_body() {
    wants_body_ = false;
    size_exceeded_ = false;
    size_ = 0;
    header_.clear();
    header_line_ = 0;
    header_done_ = header_truncated_ = false;
}

void session::on_content(std::string_view s) {
    size_ += s.size();
    if (size_exceeded_) return;
    if (!header_done_) s.remove_prefix(collect_header(s));  // kept even when too large: it names the flow
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

void session::finish_message(body_kind kind) {
    if (size_exceeded_) {
        refuse(reply_id::size_exceeded, header_);
        return reset_transaction();
    }
    if (!header_done_) {  // no empty line: the whole message is its header section
        header_done_ = true;
        wants_body_ = obs_.on_header(env_, header_, header_truncated_);
    }
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

void session::reset_transaction() noexcept {
    txn_ = txn::none;
    env_.clear();
    size_exceeded_ = false;
}

}  // namespace smtp
