// The ESMTP parameters of MAIL (RFC 1870 SIZE, RFC 6152 and RFC 3030 BODY, RFC 6531 SMTPUTF8, RFC 3461 4.3 RET
// and 4.4 ENVID) and of RCPT (RFC 3461 4.1 NOTIFY and 4.2 ORCPT): one table row each, checked and recorded in the
// envelope. The parameter of a switched-off extension is as unknown as it would be to a server without it.
#pragma once
#include <optional>
#include <string_view>

#include "smtp/envelope.hpp"
#include "smtp/options.hpp"
#include "smtp/reply.hpp"

namespace smtp {

// Checks the parameters after MAIL's path and records them in `env`; returns the refusal, if any.
std::optional<reply_id> mail_parameters(std::string_view params, const profile& p, envelope& env);

// Checks the parameters after RCPT's path and records them in `r` (ORCPT's text in `env`'s arena); returns the
// refusal, if any.
std::optional<reply_id> rcpt_parameters(std::string_view params, const profile& p, envelope& env,
                                        envelope::recipient& r);

}  // namespace smtp
