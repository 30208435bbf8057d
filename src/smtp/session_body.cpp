// The message content of DATA and BDAT: the header section kept for the observer, the body passed on only if it
// asks, the size limit (RFC 1870: an oversized message is read to its end, then refused), and the end of the
// message (accepted, or refused) with its reply. RFC 5322 2.1 (header section), RFC 3030 2 (BDAT chunks).
#include <utility>

#include "smtp/limits.hpp"
#include "smtp/session.hpp"

namespace smtp {

// The end of a BDAT chunk: its refusal, the 250 of a chunk or, after LAST, the message's acceptance.
void session::finish_bdat_chunk() {
    if (bdat_error_) return reply(*std::exchange(bdat_error_, std::nullopt));
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

}  // namespace smtp
