// The client connection state machine. See connection.hpp.
#include "connection.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <cstring>

#include "worker.hpp"

namespace loadgen {
namespace {
constexpr std::size_t read_buffer = 16 * 1024;  // replies are small; a full buffer means a broken server
constexpr std::string_view rset_line = "RSET\r\n", quit_line = "QUIT\r\n", data_line = "DATA\r\n",
                           starttls_line = "STARTTLS\r\n";
}  // namespace

connection::connection(worker& w, tcp::endpoint ep) : w_(w), ep_(ep), sock_(w.io()) {
    buf_.resize(read_buffer);
    expects_.resize(2 * (w.rc().p.recipients + 8));
    pending_.reserve(8);
    inflight_.reserve(8);
}

connection::~connection() {
    if (session_) SSL_SESSION_free(session_);
}

namespace {
// The SSL's slot for its connection (not the "app data" slot: Asio keeps its verify callback there).
int connection_slot() {
    static const int slot = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return slot;
}
}  // namespace

int connection::keep_session(SSL* ssl, SSL_SESSION* session) {
    auto* c = static_cast<connection*>(SSL_get_ex_data(ssl, connection_slot()));
    if (c == nullptr) return 0;
    if (c->session_) SSL_SESSION_free(c->session_);
    c->session_ = session;  // TLS 1.3 sends tickets after the handshake: the newest one is kept
    return 1;
}

void connection::start() {
    state_ = state::connecting;
    reading_ = writing_ = tls_pending_ = tls_done_ = ehlo_done_ = need_rset_ = broke_ = quitting_ = tls_closing_ = false;
    in_txn_ = has_next_ = false;
    len_ = head_ = count_ = 0;
    parser_.reset();
    pending_.clear();
    tls_.reset();
    on_this_connection_ = completed_here_ = 0;
    t0_ = clock::now();
    deadline_ = t0_ + w_.rc().p.timeout;
    ++ops_;
    sock_.async_connect(ep_, [this](const error_code& ec) {
        --ops_;
        on_connect(ec);
    });
}

// True when the connection is closing: the caller stops, and the last operation to end reports the close.
#define LOADGEN_SETTLE()                          \
    if (state_ == state::waiting_close) {         \
        if (ops_ == 0) closed();                  \
        return;                                   \
    }

void connection::on_connect(const error_code& ec) {
    LOADGEN_SETTLE();
    if (ec) return fail(failure::connect, "connect: " + ec.message());
    auto now = clock::now();
    w_.stats().connections.add();
    w_.stats().connect.record(std::uint64_t((now - t0_).count()));
    error_code ignored;
    sock_.set_option(tcp::no_delay(true), ignored);
    if (w_.rc().p.tls) return handshake();
    sock_.non_blocking(true, ignored);  // replies are written directly when the socket takes them
    state_ = state::talking;
    push(expect::greeting);
    read();
}

void connection::handshake() {
    tls_pending_ = false;
    tls_ = std::make_unique<net::tls_stream>(sock_, w_.rc().tls->native_handle(), net::tls_stream::role::client);
    SSL* ssl = tls_->native_handle();
    SSL_set_ex_data(ssl, connection_slot(), this);
    if (session_ && w_.rc().p.tls_resume != plan::resume::off) SSL_set_session(ssl, session_);
    state_ = state::handshaking;
    t0_ = clock::now();
    deadline_ = t0_ + w_.rc().p.timeout;
    ++ops_;
    tls_->async_handshake([this](const error_code& ec) {
        --ops_;
        on_handshake(ec);
    });
}

void connection::on_handshake(const error_code& ec) {
    LOADGEN_SETTLE();
    if (ec) return fail(failure::tls, "TLS handshake: " + ec.message());
    w_.stats().tls_handshakes.add();
    if (SSL_session_reused(tls_->native_handle())) w_.stats().tls_resumed.add();
    w_.stats().tls.record(std::uint64_t((clock::now() - t0_).count()));
    tls_done_ = true;
    state_ = state::talking;
    deadline_ = clock::now() + w_.rc().p.timeout;
    if (ehlo_done_)
        queue(w_.rc().ehlo_line, expect::ehlo);  // RFC 3207 4.2: after STARTTLS, EHLO again
    else
        push(expect::greeting);                  // implicit TLS: the greeting comes now
    flush();
    read();
}

void connection::read() {
    reading_ = true;
    ++ops_;
    auto buffer = boost::asio::buffer(buf_.data() + len_, buf_.size() - len_);
    auto handler = [this](const error_code& ec, std::size_t n) {
        --ops_;
        reading_ = false;
        on_read(ec, n);
    };
    if (tls_)
        tls_->async_read_some(buffer, std::move(handler));
    else
        sock_.async_read_some(buffer, std::move(handler));
}

void connection::on_read(const error_code& ec, std::size_t n) {
    LOADGEN_SETTLE();
    if (ec) return fail(failure::connection, "read: " + ec.message());
    len_ += n;
    std::size_t pos = 0;
    while (pos < len_) {
        auto r = parser_.parse(std::string_view(buf_.data() + pos, len_ - pos));
        if (r.status == smtp::reply_status::malformed) return fail(failure::connection, "malformed reply");
        if (r.status == smtp::reply_status::incomplete) break;
        pos += r.consumed;
        if (!on_reply(r)) break;
    }
    if (state_ == state::waiting_close) return;
    if (tls_closing_) return shutdown_tls();
    if (tls_pending_) {
        len_ = 0;  // bytes after the 220 to STARTTLS were not protected: never use them
        if (!writing_) handshake();
        return;
    }
    len_ -= pos;
    if (len_ == buf_.size()) return fail(failure::connection, "reply too long");
    if (len_ > 0 && pos > 0) std::memmove(buf_.data(), buf_.data() + pos, len_);
    deadline_ = count_ > 0 ? clock::now() + w_.rc().p.timeout : clock::time_point::max();
    flush();
    if (state_ != state::waiting_close) read();
}

// One reply; false when the connection stops reading replies (closing, or switching to TLS).
bool connection::on_reply(const smtp::client_reply& r) {
    if (count_ == 0) {  // nothing was asked: a 421 before closing, or garbage
        fail(state_ == state::idle ? failure::connection : failure::protocol, "unexpected reply: " + std::string(r.raw.substr(0, 120)));
        return false;
    }
    expect e = pop();
    bool go = e >= expect::rset && e <= expect::bdat_end ? on_txn_reply(e, r) : on_session_reply(e, r);
    return go && state_ != state::waiting_close && !tls_pending_;
}

bool connection::on_session_reply(expect e, const smtp::client_reply& r) {
    if (r.code == 421 && e != expect::quit) {
        fail(failure::connection, "421 from the server");
        return false;
    }
    switch (e) {
    case expect::greeting:
        if (r.code != 220) return fail(failure::protocol, "greeting: " + std::string(r.raw.substr(0, 120))), false;
        queue(w_.rc().ehlo_line, expect::ehlo);
        return true;
    case expect::ehlo:
        if (r.code != 250) return fail(failure::protocol, "EHLO: " + std::string(r.raw.substr(0, 120))), false;
        after_ehlo(r);
        return true;
    case expect::starttls:
        if (r.code != 220) return fail(failure::protocol, "STARTTLS: " + std::string(r.raw.substr(0, 120))), false;
        tls_pending_ = true;
        return false;
    case expect::auth:
        if (r.code != 235) return fail(failure::protocol, "AUTH: " + std::string(r.raw.substr(0, 120))), false;
        ready();
        return true;
    case expect::quit:
        if (tls_) tls_closing_ = true;  // close_notify first (on_read): as MTAs do, and the session stays resumable
        else close();
        return false;
    default:
        return true;
    }
}

void connection::after_ehlo(const smtp::client_reply& r) {
    const plan& p = w_.rc().p;
    ehlo_done_ = true;
    if (p.starttls && !tls_done_) {
        if (!smtp::ehlo_has(r.raw, "STARTTLS")) return fail(failure::protocol, "the server does not offer STARTTLS");
        return queue(starttls_line, expect::starttls);
    }
    if ((p.pipelining || p.bdat) && !smtp::ehlo_has(r.raw, "PIPELINING")) return fail(failure::protocol, "the server does not offer PIPELINING");
    if (p.bdat && !smtp::ehlo_has(r.raw, "CHUNKING")) return fail(failure::protocol, "the server does not offer CHUNKING");
    if (!p.auth_user.empty()) {
        if (!smtp::ehlo_has(r.raw, "AUTH")) return fail(failure::protocol, "the server does not offer AUTH (without TLS it may need --starttls)");
        return queue(w_.rc().auth_line, expect::auth);
    }
    ready();
}

void connection::ready() {
    state_ = state::idle;
    deadline_ = clock::time_point::max();
    w_.idle(*this);
}

void connection::begin_transaction(std::size_t flow, unsigned attempt) {
    const plan& p = w_.rc().p;
    txn_state& t = in_txn_ ? next_ : cur_;
    (in_txn_ ? has_next_ : in_txn_) = true;
    t = txn_state{&w_.rc().txns[flow], flow, clock::now(), 0, 0, 0, attempt};
    state_ = state::talking;
    ++on_this_connection_;
    w_.stats().sent.add();
    w_.stats().in_flight.add();
    deadline_ = t.t0 + p.timeout;
    if (need_rset_) {
        queue(rset_line, expect::rset);
        need_rset_ = false;
    }
    if (p.bdat) {
        queue_bytes(t.bytes->bdat);  // RFC 3030 + RFC 2920: the whole transaction in one write
        push(expect::mail);
        for (unsigned i = 0; i < p.recipients; ++i) push(expect::rcpt);
        push(expect::bdat_end);
    } else if (p.pipelining) {
        queue_bytes(t.bytes->envelope_data);  // RFC 2920 3.1: DATA ends the group; the body follows the 354
        push(expect::mail);
        for (unsigned i = 0; i < p.recipients; ++i) push(expect::rcpt);
        push(expect::data);
    } else {
        queue(t.bytes->mail, expect::mail);
    }
    flush();
}

bool connection::on_txn_reply(expect e, const smtp::client_reply& r) {
    const plan& p = w_.rc().p;
    bool lockstep = !p.pipelining && !p.bdat;
    bool ok = r.code >= 200 && r.code < 300;
    if (r.code == 421) {  // the server is going away: the transaction is lost with the connection
        fail(failure::connection, "421 from the server");
        return false;
    }
    if (!ok && e != expect::rset && e != expect::data && cur_.first_refusal == 0) cur_.first_refusal = r.code;
    switch (e) {
    case expect::rset:
        break;
    case expect::mail:
        if (lockstep) {
            if (!ok) end_transaction(r.code);
            else send_rcpt_or_data();
        }
        break;
    case expect::rcpt:
        if (ok) ++cur_.rcpt_ok;
        if (lockstep) send_rcpt_or_data();
        break;
    case expect::data:
        if (r.code == 354) return send_body(), true;
        need_rset_ = true;
        end_transaction(cur_.first_refusal ? cur_.first_refusal : r.code);
        break;
    case expect::data_end:  // the server's transaction is over whatever the reply: no RSET needed
        end_transaction(ok ? 0 : (cur_.first_refusal ? cur_.first_refusal : r.code));
        break;
    case expect::bdat_end:
        if (!ok) need_rset_ = true;
        end_transaction(ok ? 0 : (cur_.first_refusal ? cur_.first_refusal : r.code));
        break;
    default:
        break;
    }
    return true;
}

// After 354: the body, and in closed-loop pipelining the next transaction's envelope in the same write.
void connection::send_body() {
    const plan& p = w_.rc().p;
    queue(cur_.bytes->data_body, expect::data_end);
    std::size_t flow = 0;
    unsigned attempt = 0;
    bool room = p.per_connection == 0 || on_this_connection_ < p.per_connection;
    if (p.pipelining && !has_next_ && !need_rset_ && room && w_.take_now(flow, attempt)) return begin_transaction(flow, attempt);
}

// One command per round trip: after MAIL and each RCPT, the next RCPT, then DATA (or RSET if none was taken).
void connection::send_rcpt_or_data() {
    if (cur_.next_rcpt < cur_.bytes->rcpts.size()) return queue(cur_.bytes->rcpts[cur_.next_rcpt++], expect::rcpt);
    if (cur_.rcpt_ok > 0) return queue(data_line, expect::data);
    need_rset_ = true;
    end_transaction(cur_.first_refusal);
}

// code 0: accepted (the final 250 arrived); else the refusal that ended it.
void connection::end_transaction(unsigned short code) {
    auto& s = w_.stats();
    s.in_flight.sub();
    ++completed_here_;
    broken_in_a_row_ = 0;
    if (code == 0) {
        s.accepted.add();
        ++s.accepted_by_flow[cur_.flow];
        s.txn.record(std::uint64_t((clock::now() - cur_.t0).count()));
    } else if (code >= 400 && code < 500 && cur_.attempt < w_.rc().p.retries && w_.retry(cur_.flow, cur_.attempt + 1)) {
        s.retried.add();  // a transient refusal: the message goes back to the queue
    } else {
        s.refused.add();
        ++s.refused_by_code[code < reply_codes ? code : 0];
    }
    if (has_next_) {  // its envelope is already on the wire: its replies come next
        cur_ = next_;
        has_next_ = false;
        return;
    }
    in_txn_ = false;
    std::uint64_t limit = w_.rc().p.per_connection;
    if (limit != 0 && on_this_connection_ >= limit) return quit();
    ready();
}

void connection::quit() {
    quitting_ = true;
    state_ = state::talking;
    deadline_ = clock::now() + w_.rc().p.timeout;
    queue(quit_line, expect::quit);
    flush();
}

void connection::queue(std::string_view s, expect e) {
    queue_bytes(s);
    push(e);
}

void connection::queue_bytes(std::string_view s) { pending_.emplace_back(s.data(), s.size()); }

void connection::push(expect e) {
    expects_[(head_ + count_) % expects_.size()] = e;
    ++count_;
}

connection::expect connection::pop() {
    expect e = expects_[head_];
    head_ = (head_ + 1) % expects_.size();
    --count_;
    return e;
}

// Writes what is queued: directly when the socket takes it all (the common case), else asynchronously. Over TLS
// a batch that fits one record is gathered into one buffer first, so that it goes out as one record and one send,
// as an MTA's buffered writer sends it (one record per buffer would wake the server once per command line); a
// bigger one (a large body) goes buffer by buffer, never copied.
void connection::flush() {
    if (writing_ || pending_.empty() || state_ == state::waiting_close) return;
    if (tls_) {
        std::size_t total = 0;
        for (const auto& b : pending_) total += b.size();
        if (pending_.size() > 1 && total <= tls_gather_max) spill_from(0, 0);  // a batch that fits one record is one
        std::size_t i = 0;
        for (; i < pending_.size(); ++i) {
            error_code ec;
            tls_->write(pending_[i], ec);
            if (ec == boost::asio::error::would_block) break;
            if (ec) return fail(failure::connection, "write: " + ec.message());
        }
        if (i == pending_.size()) return pending_.clear();
        // The records of buffer i that did not fit wait in OpenSSL: the same bytes again, then the rest in order.
        inflight_.assign(1, pending_[i]);
        pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(i) + 1);
    } else {
        error_code ec;
        std::size_t n = sock_.write_some(pending_, ec);
        if (ec == boost::asio::error::would_block || ec == boost::asio::error::try_again)
            n = 0;
        else if (ec)
            return fail(failure::connection, "write: " + ec.message());
        std::size_t i = 0;
        while (i < pending_.size() && n >= pending_[i].size()) n -= pending_[i++].size();
        if (i == pending_.size()) return pending_.clear();
        spill_from(i, n);  // rare: keep the rest in one buffer of our own
        inflight_.swap(pending_);
        pending_.clear();
    }
    writing_ = true;
    ++ops_;
    auto handler = [this](const error_code& ec, std::size_t) {
        --ops_;
        writing_ = false;
        on_written(ec);
    };
    if (tls_)
        tls_->async_write(inflight_.front(), std::move(handler));
    else
        boost::asio::async_write(sock_, inflight_, std::move(handler));
}

// Copies what is queued from byte `skip` of buffer `i` on into spill_, which becomes the queue's only buffer.
void connection::spill_from(std::size_t i, std::size_t skip) {
    spill_.clear();
    for (; i < pending_.size(); ++i, skip = 0)
        spill_.append(static_cast<const char*>(pending_[i].data()) + skip, pending_[i].size() - skip);
    pending_.assign(1, boost::asio::buffer(spill_));
}

void connection::on_written(const error_code& ec) {
    LOADGEN_SETTLE();
    if (ec) return fail(failure::connection, "write: " + ec.message());
    inflight_.clear();
    if (tls_pending_) return handshake();
    flush();
}

void connection::check_deadline(clock::time_point now) {
    if (now < deadline_) return;
    if (state_ == state::connecting) return fail(failure::connect, "connect timed out");
    if (state_ == state::handshaking) return fail(failure::tls, "TLS handshake timed out");
    if (state_ == state::talking) return fail(failure::connection, "no reply within --timeout");
}

// The hard stop after --duration: whatever still waits for the server is an error (a silent server must not
// look like a clean run); an idle connection just closes.
void connection::abort() {
    if (state_ == state::connecting) return fail(failure::connect, "connect still pending at the end of --duration");
    if (state_ == state::handshaking) return fail(failure::tls, "TLS handshake still pending at the end of --duration");
    if (state_ == state::talking) return fail(failure::connection, "still waiting for a reply at the end of --duration");
    if (state_ == state::idle) close();
}

void connection::fail(failure f, std::string_view why) {
    if (state_ == state::waiting_close) return;
    auto& s = w_.stats();
    if (s.first_error.empty()) {
        s.first_error.assign(why);
        for (auto& c : s.first_error)
            if (static_cast<unsigned char>(c) < 0x20) c = ' ';  // a reply's CR LF
    }
    switch (f) {
    case failure::connect: s.connect_errors.add(); break;
    case failure::tls: s.tls_errors.add(); break;
    case failure::connection: s.conn_errors.add(); break;
    case failure::protocol: s.protocol_errors.add(); break;
    }
    if (in_txn_) lose(cur_);
    if (has_next_) lose(next_);
    in_txn_ = has_next_ = false;
    if (completed_here_ == 0) ++broken_in_a_row_;
    broke_ = true;
    close();
}

void connection::lose(const txn_state& t) {
    auto& s = w_.stats();
    s.in_flight.sub();
    if (t.attempt < w_.rc().p.retries && w_.retry(t.flow, t.attempt + 1)) {
        s.retried.add();
        s.retried_lost.add();
    } else {
        s.lost.add();
    }
}

// After the 221 to QUIT over TLS: our close_notify, then the server's (it sends one after its 221), then the close.
// OpenSSL would mark the session not resumable after a close without close_notify.
void connection::shutdown_tls() {
    ++ops_;
    tls_->async_shutdown([this](const error_code&) {
        --ops_;
        LOADGEN_SETTLE();
        close();
    });
}

// Closes the socket; the pending operations end with operation_aborted, and the last one calls closed().
void connection::close() {
    w_.forget(*this);  // no longer idle: a token must not start a transaction on it
    state_ = state::waiting_close;
    deadline_ = clock::time_point::max();
    error_code ignored;
    sock_.close(ignored);
    ++ops_;
    boost::asio::post(w_.io(), [this] {
        --ops_;
        if (ops_ == 0) closed();
    });
}

void connection::closed() {
    tls_.reset();
    if (!broke_ && w_.wants_more()) return start();  // --messages-per-connection reached: a new connection
    // A connection that broke reconnects if it had delivered something since it last connected, or (--retries)
    // while it has not broken more than --retries times in a row without delivering anything.
    bool again = completed_here_ > 0 || broken_in_a_row_ <= w_.rc().p.retries;
    if (broke_ && again && w_.wants_more()) {
        state_ = state::sleeping;
        return w_.reconnect_later(*this);
    }
    finish();
}

void connection::finish() {
    state_ = state::finished;
    w_.connection_done();
}

}  // namespace loadgen
