// The wording of every reply. Texts are ours; codes follow RFC 5321 4.2.2 and RFC 3463 / RFC 3030 / RFC 6531.
#include "smtp/reply.hpp"

#include <charconv>
#include <utility>

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

// Enhanced codes (RFC 3463) of the replies a fault rule can ask for, by code and, where the meaning depends on
// it, by stage. Codes not listed get their class digit and ".0.0".
struct injected_code {
    unsigned short code;
    std::string_view at_mail, at_rcpt, elsewhere;
};
constexpr injected_code injected_codes[] = {
    {421, "4.3.2", "4.3.2", "4.3.2"},  // system not accepting network messages
    {450, "4.2.0", "4.2.0", "4.3.0"},  // mailbox unavailable
    {451, "4.3.0", "4.3.0", "4.3.0"},  // local error in processing
    {452, "4.3.1", "4.3.1", "4.3.1"},  // insufficient system storage
    {454, "4.7.0", "4.7.0", "4.7.0"},  // TLS or authentication temporarily unavailable
    {500, "5.5.2", "5.5.2", "5.5.2"},  // syntax error
    {501, "5.5.4", "5.5.4", "5.5.4"},
    {502, "5.5.1", "5.5.1", "5.5.1"},
    {503, "5.5.1", "5.5.1", "5.5.1"},
    {504, "5.5.4", "5.5.4", "5.5.4"},
    {530, "5.7.0", "5.7.0", "5.7.0"},  // authentication required
    {534, "5.7.9", "5.7.9", "5.7.9"},
    {535, "5.7.8", "5.7.8", "5.7.8"},
    {538, "5.7.11", "5.7.11", "5.7.11"},
    {550, "5.1.8", "5.1.1", "5.7.1"},  // bad sender's system address / bad destination mailbox / refused
    {551, "5.1.6", "5.1.6", "5.1.6"},  // mailbox has moved
    {552, "5.3.4", "5.2.2", "5.3.4"},  // message too big / mailbox full
    {553, "5.1.7", "5.1.3", "5.1.0"},  // bad address syntax
    {554, "5.7.1", "5.7.1", "5.7.1"},  // delivery not authorized, message refused
};

// The usual texts, by code; by class for the others.
constexpr std::pair<unsigned short, std::string_view> usual_texts[] = {
    {421, "Service not available, closing transmission channel"},
    {450, "Mailbox unavailable, try again later"},
    {451, "Local error in processing, try again later"},
    {452, "Insufficient system storage, try again later"},
    {454, "Temporarily unavailable, try again later"},
    {500, "Syntax error, command unrecognized"},
    {501, "Syntax error in parameters or arguments"},
    {502, "Command not implemented"},
    {503, "Bad sequence of commands"},
    {504, "Command parameter not implemented"},
    {530, "Authentication required"},
    {534, "Authentication mechanism is too weak"},
    {535, "Authentication credentials invalid"},
    {538, "Encryption required for requested authentication mechanism"},
    {550, "Mailbox unavailable"},
    {551, "User not local"},
    {552, "Exceeded storage allocation"},
    {553, "Mailbox name not allowed"},
    {554, "Transaction failed"},
};

}  // namespace

std::string_view enhanced_code_for(stage s, unsigned short code) noexcept {
    for (const auto& c : injected_codes)
        if (c.code == code) return s == stage::mail ? c.at_mail : s == stage::rcpt ? c.at_rcpt : c.elsewhere;
    return code < 500 ? "4.0.0" : "5.0.0";
}

std::string_view usual_text(stage s, unsigned short code) noexcept {
    if (code == 454 && s == stage::starttls) return "TLS not available due to temporary reason";
    for (const auto& [c, text] : usual_texts)
        if (c == code) return text;
    return code < 500 ? "Temporary failure, try again later" : "Permanent failure";
}

// RFC 3463 2: class "." subject "." detail, with 1 to 3 digits for each of the last two.
bool starts_with_enhanced_code(std::string_view text) noexcept {
    if (text.size() < 5 || (text[0] != '2' && text[0] != '4' && text[0] != '5') || text[1] != '.') return false;
    std::size_t i = 2;
    for (int part = 0; part < 2; ++part) {
        std::size_t digits = 0;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9' && digits < 4) ++i, ++digits;
        if (digits == 0 || digits > 3) return false;
        if (part == 0 && (i >= text.size() || text[i++] != '.')) return false;
    }
    return i == text.size() || text[i] == ' ';
}

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

void reply_book::append_injected(std::string& out, stage s, unsigned short code, std::string_view text) const {
    append_code(out, code, ' ');
    if (s == stage::connect) (out += hostname_) += ' ';
    if (text.empty()) text = usual_text(s, code);
    const bool exempt = s == stage::connect || s == stage::ehlo;  // RFC 2034 3
    if (enhanced_ && !exempt && !starts_with_enhanced_code(text)) (out += enhanced_code_for(s, code)) += ' ';
    out += text;
    out += "\r\n";
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
