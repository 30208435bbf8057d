// The session's commands: dispatch and one handler per verb, each checking order and syntax and answering
// with one reply. RFC 5321 4.1 (commands, order), RFC 3030 (BDAT), RFC 3207 (STARTTLS), RFC 4954 (AUTH).
// The ESMTP parameters of MAIL and RCPT are checked by the tables in parameters.cpp.
#include "smtp/ascii.hpp"
#include "smtp/command.hpp"
#include "smtp/parameters.hpp"
#include "smtp/session.hpp"

namespace smtp {

// One command line (without CRLF), or a line answering an AUTH challenge.
void session::on_line(std::string_view line) {
    line_ = line;
    if (sasl_.active()) {  // a line answering an AUTH challenge, not a command
        if (prof_.opts().auth) return on_auth_step(sasl_.respond(line, *prof_.opts().auth));
        sasl_.reset();
    }
    auto cmd = parse_command(line);
    if (no_service_ && cmd.v != verb::quit) return reply(reply_id::bad_sequence);
    switch (cmd.v) {
    case verb::ehlo: return do_helo(cmd.args, true);
    case verb::helo: return do_helo(cmd.args, false);
    case verb::mail: return do_mail(cmd.args);
    case verb::rcpt: return do_rcpt(cmd.args);
    case verb::data: return do_data(cmd.args);
    case verb::bdat: return do_bdat(cmd.args);
    case verb::rset: return do_rset(cmd.args);
    case verb::noop: return reply(reply_id::noop_ok);  // RFC 5321 4.1.1.9: an argument is allowed
    case verb::quit: return do_quit(cmd.args);
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
    if (intercept(stage::ehlo, resume_at::line, {}, args)) return;
    reset_transaction();  // RFC 5321 4.1.4: EHLO/HELO resets the transaction like RSET
    helo_.assign(args);
    helo_done_ = true;
    if (extended)
        reply_raw(prof_.ehlo_reply(tls_), 250);
    else
        reply(reply_id::helo_ok);
}

// RFC 5321 4.1.1.2: MAIL FROM:<reverse-path> [parameters]; it opens the transaction.
void session::do_mail(std::string_view args) {
    if (prof_.opts().require_tls && !tls_) return reply(reply_id::tls_required);
    if (!helo_done_) return reply(reply_id::need_helo);
    if (txn_ != txn::none) return reply(reply_id::nested_mail);
    auto p = parse_path(args, path_kind::reverse);
    if (!p.ok) return reply(p.error);
    env_.clear();  // a refused MAIL may have left parameters in it
    if (auto refusal = mail_parameters(p.params, prof_, env_)) return reply(*refusal);
    if (p.non_ascii && !env_.smtputf8()) return reply(reply_id::need_smtputf8);
    env_.set_mail_from(p.address);
    env_.set_session(helo_, auth_user_, tls_info_);
    if (intercept(stage::mail)) return;
    txn_ = txn::mail;
    reply(reply_id::mail_ok);
}

// RFC 5321 4.1.1.3: RCPT TO:<forward-path> [parameters].
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
    if (intercept(stage::rcpt)) return env_.drop_last_recipient();  // the verdict saw it; it was not taken
    txn_ = txn::rcpt;
    reply(reply_id::rcpt_ok);
}

// RFC 5321 4.1.1.4: DATA, then the body up to CR LF . CR LF (read by session::read_data).
void session::do_data(std::string_view args) {
    if (!args.empty()) return reply(reply_id::syntax_no_args);
    if (txn_ == txn::none) return reply(reply_id::need_mail);
    if (txn_ == txn::bdat) return reply(reply_id::mixed_data_bdat);
    if (txn_ != txn::rcpt) return reply(reply_id::need_rcpt);
    if (env_.body() == body_type::binary_mime) return reply(reply_id::binarymime_needs_bdat);
    if (intercept(stage::data)) return;
    reply(reply_id::data_start);
    scanner_.reset();
    start_body();
    phase_ = phase::data;
}

// RFC 3030 2: BDAT chunk-size [LAST], then chunk-size bytes (read by session::read_bdat_chunk).
void session::do_bdat(std::string_view args) {
    auto sp = args.find(' ');
    auto size_text = args.substr(0, sp);
    auto rest = sp == std::string_view::npos ? std::string_view{} : args.substr(sp + 1);
    rest = ascii::trim_left<ascii::is_sp>(rest);
    std::uint64_t n = 0;
    if (!parse_number(size_text, n) || (!rest.empty() && !ascii::iequals(rest, "LAST")))
        return reply(reply_id::syntax_bdat);
    bdat_left_ = bdat_chunk_ = n;
    bdat_last_ = !rest.empty();
    // The chunk is read even when it is refused, so that its bytes are never taken for commands.
    bdat_error_ = bdat_refusal();
    bdat_first_ = !bdat_error_ && txn_ == txn::rcpt;
    if (bdat_first_) {
        txn_ = txn::bdat;
        start_body();
    }
    phase_ = phase::bdat;
    if (n == 0) {
        phase_ = phase::command;
        finish_bdat_chunk();
    }
}

// Why a BDAT chunk is refused, if it is.
std::optional<reply_id> session::bdat_refusal() const noexcept {
    if (!prof_.enabled(extension::chunking)) return reply_id::not_implemented;
    if (txn_ == txn::none) return reply_id::need_mail;
    if (txn_ == txn::mail) return reply_id::need_rcpt;
    return std::nullopt;
}

// RFC 5321 4.1.1.5: RSET ends the transaction.
void session::do_rset(std::string_view args) {
    if (!args.empty()) return reply(reply_id::syntax_no_args);
    reset_transaction();
    reply(reply_id::rset_ok);
}

// RFC 5321 4.1.1.10: QUIT, answered with 221; the session is over.
void session::do_quit(std::string_view args) {
    if (!args.empty()) return reply(reply_id::syntax_no_args);
    if (intercept(stage::quit)) return;
    reply(reply_id::quit);
    quit_ = true;
    close();
}

// RFC 3207 4: STARTTLS; nothing more is read until the server calls tls_established().
void session::do_starttls(std::string_view args) {
    if (!prof_.starttls_offered(false)) return reply(reply_id::not_implemented);
    if (tls_) return reply(reply_id::tls_active);
    if (!args.empty()) return reply(reply_id::syntax_no_args);
    if (intercept(stage::starttls)) return;
    reply(reply_id::starttls_ready);
    starttls_ = halted_ = true;
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
    if (intercept(stage::auth)) return;
    on_auth_step(sasl_.start(mechanism, initial, *prof_.opts().auth));
}

// Answers one step of the SASL exchange: a challenge, or its outcome.
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

}  // namespace smtp
