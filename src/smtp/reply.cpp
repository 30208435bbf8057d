// The wording of every reply. Texts are ours; codes follow RFC 5321 4.2.2 and RFC 3463 / RFC 3030 / RFC 6531.
#include "smtp/reply.hpp"

#include <charconv>

namespace smtp {
namespace {

constexpr std::array<reply_text, static_cast<std::size_t>(reply_id::count_)> table{{
    /* greeting */ {220, "", "ESMTP smtp-blackhole"},  // rendered after the hostname
    /* helo_ok */ {250, "", ""},                        // rendered as the hostname
    /* mail_ok */ {250, "2.1.0", "Sender ok"},
    /* rcpt_ok */ {250, "2.1.5", "Recipient ok"},
    /* data_start */ {354, "", "End data with <CR><LF>.<CR><LF>"},
    /* queued */ {250, "2.0.0", "Ok: queued"},
    /* bdat_chunk */ {250, "2.0.0", "octets received"},
    /* rset_ok */ {250, "2.0.0", "Reset ok"},
    /* noop_ok */ {250, "2.0.0", "Ok"},
    /* quit */ {221, "2.0.0", "Bye"},
    /* vrfy */ {252, "2.5.0", "Cannot verify the user, but will accept mail for it"},
    /* help */ {214, "2.0.0", "Commands: EHLO HELO STARTTLS AUTH MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP"},
    /* unknown_command */ {500, "5.5.1", "Command unrecognized"},
    /* need_helo */ {503, "5.5.1", "Send EHLO or HELO first"},
    /* need_mail */ {503, "5.5.1", "Need MAIL command first"},
    /* need_rcpt */ {503, "5.5.1", "Need RCPT command first"},
    /* nested_mail */ {503, "5.5.1", "Nested MAIL command"},
    /* mixed_data_bdat */ {503, "5.5.1", "DATA and BDAT cannot be mixed in one transaction"},
    /* bad_sequence */ {503, "5.5.1", "Bad sequence of commands"},
    /* syntax_helo */ {501, "5.5.4", "Syntax: EHLO domain"},
    /* syntax_mail */ {501, "5.5.4", "Syntax: MAIL FROM:<address> [parameters]"},
    /* syntax_rcpt */ {501, "5.5.4", "Syntax: RCPT TO:<address> [parameters]"},
    /* syntax_bdat */ {501, "5.5.4", "Syntax: BDAT size [LAST]"},
    /* syntax_vrfy */ {501, "5.5.4", "Syntax: VRFY address"},
    /* syntax_no_args */ {501, "5.5.4", "This command takes no arguments"},
    /* bad_address */ {501, "5.1.7", "Bad address syntax"},
    /* need_smtputf8 */ {553, "5.6.7", "Non-ASCII address needs the SMTPUTF8 parameter"},
    /* bad_parameter */ {501, "5.5.4", "Bad parameter value"},
    /* duplicate_parameter */ {501, "5.5.4", "Parameter given twice"},
    /* bad_size_value */ {501, "5.5.4", "Bad SIZE value"},
    /* unsupported_parameter */ {555, "5.5.4", "Unsupported parameter"},
    /* binarymime_needs_bdat */ {503, "5.5.1", "BODY=BINARYMIME needs BDAT, not DATA"},
    /* not_implemented */ {502, "5.5.1", "Command not implemented"},
    /* line_too_long */ {500, "5.5.2", "Line too long"},
    /* bad_pipelining */ {503, "5.5.0", "Improper use of SMTP command pipelining"},
    /* size_exceeded_mail */ {552, "5.3.4", "Message size exceeds fixed limit"},
    /* size_exceeded */ {552, "5.3.4", "Message size exceeds fixed limit"},
    /* too_many_recipients */ {452, "4.5.3", "Too many recipients"},
    /* shutting_down */ {421, "4.3.2", "Service shutting down, closing transmission channel"},
    /* timeout */ {421, "4.4.2", "Timeout exceeded, closing transmission channel"},
    /* too_many_connections */ {421, "4.3.2", "Too many connections, try again later"},
    /* starttls_ready */ {220, "2.0.0", "Ready to start TLS"},
    /* tls_active */ {503, "5.5.1", "TLS already active"},
    /* tls_required */ {530, "5.7.0", "Must issue a STARTTLS command first"},
    /* auth_ok */ {235, "2.7.0", "Authentication successful"},
    /* auth_failed */ {535, "5.7.8", "Authentication credentials invalid"},
    /* auth_cancelled */ {501, "5.0.0", "Authentication cancelled"},
    /* auth_bad_base64 */ {501, "5.5.2", "Cannot decode the response"},
    /* auth_bad_mechanism */ {504, "5.5.4", "Unrecognized authentication type"},
    /* auth_already */ {503, "5.5.1", "Already authenticated"},
    /* auth_in_transaction */ {503, "5.5.1", "AUTH is not allowed during a mail transaction"},
    /* auth_needs_tls */ {538, "5.7.11", "Encryption required for requested authentication mechanism"},
    /* syntax_auth */ {501, "5.5.4", "Syntax: AUTH mechanism [initial-response]"},
}};

void append_code(std::string& out, unsigned short code, char sep) {
    char buf[4] = {char('0' + code / 100), char('0' + code / 10 % 10), char('0' + code % 10), sep};
    out.append(buf, 4);
}

void append_number(std::string& out, std::uint64_t n) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, n);
    out.append(buf, r.ptr);
}

}  // namespace

const reply_text& describe(reply_id id) noexcept { return table[static_cast<std::size_t>(id)]; }

reply_book::reply_book(const reply_style& style) : hostname_(style.hostname), enhanced_(style.enhanced_codes) {
    for (std::size_t i = 0; i < lines_.size(); ++i) lines_[i] = render(static_cast<reply_id>(i));
}

std::string reply_book::render(reply_id id) const {
    const auto& r = describe(id);
    std::string out;
    append_code(out, r.code, ' ');
    if (id == reply_id::helo_ok) {
        out += hostname_;
    } else if (id == reply_id::greeting) {
        ((out += hostname_) += ' ') += r.text;
    } else {
        if (enhanced_ && !r.enhanced.empty()) (out += r.enhanced) += ' ';
        out += r.text;
    }
    out += "\r\n";
    return out;
}

void reply_book::append_queued(std::string& out, std::uint64_t session_id, std::uint64_t txn) const {
    out += get(reply_id::queued);
    out.resize(out.size() - 2);  // drop CRLF, add the id
    out += " as ";
    append_number(out, session_id);
    out += '.';
    append_number(out, txn);
    out += "\r\n";
}

void reply_book::append_bdat_chunk(std::string& out, std::uint64_t octets) const {
    append_code(out, 250, ' ');
    if (enhanced_) out += "2.0.0 ";
    append_number(out, octets);
    out += " octets received\r\n";
}

std::string reply_book::multiline(unsigned short code, std::string_view enhanced, const std::string_view* lines,
                                  std::size_t n) {
    std::string out;
    for (std::size_t i = 0; i < n; ++i) {
        append_code(out, code, i + 1 == n ? ' ' : '-');
        if (!enhanced.empty()) (out += enhanced) += ' ';
        out += lines[i];
        out += "\r\n";
    }
    return out;
}

}  // namespace smtp
