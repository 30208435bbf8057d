// The points of a session at which the observer is asked for a verdict (observer::on_stage): where a fault
// rule can act. Each stage is named as the --fault flag and the API name it. What decides is not here.
#pragma once
#include <array>
#include <cstdint>
#include <string_view>

namespace smtp {

// connect: before the greeting; ehlo: EHLO or HELO; mail, rcpt: the commands; data: the DATA command or the end
// of the first BDAT chunk; message: the end of the data (after the final dot or the LAST chunk); starttls,
// auth, quit: the commands. Each is asked once its command has passed its own checks, before the reply.
enum class stage : std::uint8_t { connect, ehlo, mail, rcpt, data, message, starttls, auth, quit };

inline constexpr std::array<std::string_view, 9> stage_names = {"connect", "ehlo",     "mail", "rcpt", "data",
                                                                "message", "starttls", "auth", "quit"};

constexpr std::string_view stage_name(stage s) noexcept { return stage_names[static_cast<std::size_t>(s)]; }

// Whether the stage is inside a mail transaction: a refusal there is a refusal of the message (counted per flow).
constexpr bool in_transaction(stage s) noexcept {
    return s == stage::mail || s == stage::rcpt || s == stage::data || s == stage::message;
}

}  // namespace smtp
