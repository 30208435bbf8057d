// The SMTP server session as a sans-IO state machine (RFC 5321, PIPELINING RFC 2920, CHUNKING RFC 3030).
// Bytes go in through feed(); replies come out through output(); accepted transactions go to an observer.
// It owns no socket, clock, thread or randomness: the server decides when to read, write and time out.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "smtp/data_scanner.hpp"
#include "smtp/envelope.hpp"
#include "smtp/observer.hpp"
#include "smtp/options.hpp"
#include "smtp/sasl.hpp"

namespace smtp {

// What the server must do after writing the replies: nothing, close, or (after STARTTLS's 220) drop every
// byte it still holds from the client and start TLS on the same connection (RFC 3207 4, 4.2). The observer's
// verdicts add (last, so that `>= wait` tells them apart): wait (wait_ms(), then resume() and feed the unused bytes
// again), and disconnect or reset (close without a reply once what is queued is written: with a FIN, or at once
// with an RST).
enum class action : std::uint8_t { none, close_after_flush, start_tls, wait, disconnect, reset };

struct feed_result {
    std::size_t consumed;  // bytes used; the caller keeps the rest and passes it again, with more, next time
    action next;
};

// Where the session is in the byte stream; the server picks its timeout from this.
enum class phase : std::uint8_t { command, overlong_line, data, bdat };

class session {
public:
    session(const profile& p, observer& obs, std::uint64_t id) noexcept;
    session(const session&) = delete;
    session& operator=(const session&) = delete;

    // Queues the 220 greeting (unless the observer's verdict at stage connect says otherwise).
    action open();
    // Handles every complete command and body part in `in`. Unused bytes (a partial command line) must be
    // passed again, at the start of the next call's `in`.
    feed_result feed(std::string_view in);
    // The client closed its side: an unfinished transaction is dropped (it was never answered 250).
    void feed_eof() noexcept;
    // Asks for a 421 at the next transaction boundary (now, if no transaction is open).
    action request_shutdown();
    // TLS is up (after STARTTLS, or at once on an implicit-TLS port, before open()): everything said before
    // is forgotten (RFC 3207 4.2) and the client must EHLO again. `info` ("TLSv1.3 TLS_AES_...") travels
    // with each transaction.
    void tls_established(std::string_view info);
    bool tls() const noexcept { return tls_; }
    const std::string& auth_user() const noexcept { return auth_user_; }
    // Queues a 421 timeout reply and marks the session closing (a silent session closes without it).
    void timed_out();
    // After action::wait: how long to wait; then resume(), which carries on where the session stopped (the
    // delayed command's reply, or the one the verdict asked for), and feed the bytes not yet used.
    std::uint64_t wait_ms() const noexcept { return wait_ms_; }
    void resume();
    // Replies waiting to be written, batched.
    std::string_view output() const noexcept { return std::string_view(out_).substr(out_done_); }
    void output_written(std::size_t n) noexcept;

    phase current_phase() const noexcept { return phase_; }
    bool closing() const noexcept { return closing_; }
    // The session ended with QUIT (RFC 5321 4.1.1.10): the client sends nothing more, so the server may close
    // at once instead of draining what the client might still send.
    bool quit_received() const noexcept { return quit_; }
    // A transaction is open (MAIL given and not yet finished or reset).
    bool in_transaction() const noexcept { return txn_ != txn::none; }
    std::uint64_t id() const noexcept { return id_; }
    std::uint64_t transactions() const noexcept { return txn_count_; }

private:
    enum class txn : std::uint8_t { none, mail, rcpt, bdat };

    // Where the session carries on after a delay: the command line again, the greeting, the end of the first BDAT
    // chunk, the end of a message's data (DATA or BDAT).
    enum class resume_at : std::uint8_t { line, greeting, chunk, data_end, bdat_end };

    // One function per phase: each takes the unread bytes and says how many it used and whether they ended a
    // unit (a command, a message, a chunk). Inline, defined in session.cpp beside feed, their one caller: the hot
    // path stays free of calls.
    struct step {
        std::size_t used = 0;
        bool unit_ended = false;
    };
    inline step read_command(std::string_view in, bool resumed);
    inline step skip_overlong_line(std::string_view in);
    inline step read_data(std::string_view in);
    inline step read_bdat_chunk(std::string_view in);
    void after_unit(bool more_input);
    action next_action() const noexcept;
    // Recomputes halted_ after one of its flags was cleared.
    void update_halted() noexcept { halted_ = closing_ || starttls_ || waiting_ || silent_; }
    // The observer's verdict at stage `s`, carried out; true when the normal course must not go on (a reply was
    // given instead, or the session waits, closes or falls silent). `at`: where resume() carries on after a delay;
    // `helo`: the name being given, at ehlo. Inline (below): while the observer's stage gate is 0 it costs one
    // load; ask() (session_verdicts.cpp) does the rest.
    inline bool intercept(stage s, resume_at at = resume_at::line, std::string_view header = {},
                          std::string_view helo = {});
    bool ask(stage s, resume_at at, std::string_view header, std::string_view helo);
    // A reply asked for at stage `s`, instead of the normal one, and what it means for the session.
    void inject(stage s, unsigned short code, std::string_view text, std::string_view header);
    void greet();
    // The one place a transaction ends, whatever its outcome (an observer's "transaction over" call goes there).
    void reset_transaction() noexcept;
    // The session is over; so is its transaction.
    void close() noexcept;

    // Commands (session_commands.cpp).
    void on_line(std::string_view line);
    void do_helo(std::string_view args, bool extended);
    void do_mail(std::string_view args);
    void do_rcpt(std::string_view args);
    void do_data(std::string_view args);
    void do_bdat(std::string_view args);
    std::optional<reply_id> bdat_refusal() const noexcept;
    void do_rset(std::string_view args);
    void do_quit(std::string_view args);
    void do_starttls(std::string_view args);
    void do_auth(std::string_view args);
    void on_auth_step(sasl_exchange::step s);

    // The message content (session.cpp).
    void start_body();
    void on_content(std::string_view s);
    std::size_t collect_header(std::string_view s);
    void finish_message(body_kind kind);
    void finish_bdat_chunk();

    void reply(reply_id id);
    void reply_raw(std::string_view text, unsigned short code);
    void refuse(reply_id id, std::string_view header = {});

    const profile& prof_;
    observer& obs_;
    const std::atomic<std::uint64_t>& gate_;  // obs_.stage_gate()
    const std::uint64_t id_;

    phase phase_ = phase::command;
    txn txn_ = txn::none;
    bool helo_done_ = false;
    bool halted_ = false;  // closing_, starttls_, waiting_ or silent_: the byte loop stops
    bool closing_ = false;
    bool quit_ = false;
    bool starttls_ = false;  // 220 queued for STARTTLS: nothing more is read until TLS is up
    bool tls_ = false;
    std::string tls_info_;
    std::string auth_user_;
    sasl_exchange sasl_;
    bool shutdown_pending_ = false;
    std::size_t scanned_ = 0;  // bytes of the pending partial line already searched for LF

    std::string helo_;
    envelope env_;
    std::uint64_t txn_count_ = 0;

    // The body being received.
    data_scanner scanner_;
    bool wants_body_ = false;
    bool size_exceeded_ = false;
    std::uint64_t size_ = 0;
    std::string header_;
    std::size_t header_line_ = 0;  // where the current header line starts in header_
    bool header_done_ = false;
    bool header_truncated_ = false;
    // BDAT chunk being read.
    std::uint64_t bdat_left_ = 0;
    std::uint64_t bdat_chunk_ = 0;
    bool bdat_last_ = false;
    std::optional<reply_id> bdat_error_;  // the chunk is refused: the reply once it is read
    bool bdat_first_ = false;             // the chunk is the transaction's first: its end is stage data

    // The observer's verdicts (on_stage).
    std::string_view line_;         // the command line being handled (valid during on_line)
    bool no_service_ = false;       // the greeting was a refusal: every command but QUIT gets 503 (RFC 5321 3.1)
    bool silent_ = false;           // silence: nothing more is answered, what comes is dropped
    bool waiting_ = false;          // a delay: nothing more is read until resume()
    action abort_ = action::none;   // disconnect or reset
    bool resuming_ = false;         // re-running the delayed stage: its verdict is what follows the delay
    std::uint64_t wait_ms_ = 0;
    // A delay's verdict: the stage, where the session carries on, and what follows the delay. Made the first time a
    // delay comes, so that a session without one carries no more than this pointer.
    struct delay_state {
        stage at = stage::connect;
        resume_at resume = resume_at::line;
        unsigned short follow_code = 0;  // the reply after the delay, 0 for the normal course
        std::string follow_text, line;
    };
    std::unique_ptr<delay_state> delay_;

    std::string out_;
    std::size_t out_done_ = 0;
};

inline bool session::intercept(stage s, resume_at at, std::string_view header, std::string_view helo) {
    if (gate_.load(std::memory_order_acquire) == 0 && !resuming_) return false;
    return ask(s, at, header, helo);
}

}  // namespace smtp
