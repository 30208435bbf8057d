// The observer's verdicts at each stage (observer::on_stage), carried out by the session: a reply instead of the
// normal one, a delay (nothing more is read until the server calls resume()), a close without a reply, or
// silence. Which verdict, and when, is the observer's business; RFC 5321 3.1 (a refused greeting), 4.2.
#include "smtp/session.hpp"

namespace smtp {

bool session::ask(stage s, resume_at at, std::string_view header, std::string_view helo) {
    verdict v;
    if (resuming_ && delay_->at == s) {  // the delay is over: what was to follow it
        resuming_ = false;
        if (delay_->follow_code == 0) return false;
        v.what = verdict::kind::reply;
        v.code = delay_->follow_code;
        v.text = delay_->follow_text;
    } else {
        v = obs_.on_stage({s, env_, helo.empty() ? std::string_view(helo_) : helo, auth_user_, header});
    }
    switch (v.what) {
    case verdict::kind::none: return false;
    case verdict::kind::reply: inject(s, v.code, v.text, header); return true;
    case verdict::kind::delay:
        waiting_ = halted_ = true;
        wait_ms_ = v.delay_ms;
        if (!delay_) delay_ = std::make_unique<delay_state>();
        delay_->at = s;
        delay_->resume = at;
        delay_->follow_code = v.code;
        delay_->follow_text.assign(v.text);
        if (at == resume_at::line) delay_->line.assign(line_);
        return true;
    case verdict::kind::disconnect:
        abort_ = v.reset ? action::reset : action::disconnect;
        close();
        return true;
    case verdict::kind::silence:
        silent_ = halted_ = true;
        reset_transaction();
        return true;
    }
    return false;
}

void session::inject(stage s, unsigned short code, std::string_view text, std::string_view header) {
    prof_.replies().append_injected(out_, s, code, text);
    obs_.on_reply(code);
    if (smtp::in_transaction(s)) obs_.on_refusal(env_, header, code);
    if (code == 421 || s == stage::quit) {  // RFC 5321 3.8: 421 closes; after QUIT the client is gone anyway
        quit_ = s == stage::quit;
        return close();
    }
    switch (s) {
    case stage::connect: no_service_ = true; break;  // RFC 5321 3.1: wait for QUIT, 503 to the rest
    case stage::mail: env_.clear(); break;           // the transaction was not opened
    case stage::data:
    case stage::message: reset_transaction(); break;  // the message is refused
    default: break;  // rcpt: the caller drops the recipient; the other stages leave the session as it was
    }
}

void session::resume() {
    if (!waiting_) return;
    waiting_ = false;
    update_halted();
    resuming_ = true;
    switch (delay_->resume) {
    case resume_at::greeting: greet(); break;
    case resume_at::line: on_line(delay_->line); break;
    case resume_at::chunk: finish_bdat_chunk(); break;
    case resume_at::data_end: finish_message(body_kind::data); break;
    case resume_at::bdat_end: finish_message(body_kind::bdat); break;
    }
    resuming_ = false;
    after_unit(false);
}

}  // namespace smtp
