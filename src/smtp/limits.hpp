// Protocol limits of the SMTP engine, each with the RFC section that sets it.
// Limits that an operator may change (message size, recipients) live in smtp::options instead.
#pragma once
#include <cstddef>

namespace smtp::limits {

// RFC 5321 4.5.3.1.4: a command line is at most 512 octets including CRLF.
inline constexpr std::size_t command_line = 512;
// RFC 5321 4.5.3.1.3: a path (<...>) is at most 256 octets.
inline constexpr std::size_t path = 256;
// RFC 3461 4.4: ENVID is at most 100 characters.
inline constexpr std::size_t envid = 100;
// RFC 3461 4.2: ORCPT at most 500 characters.
inline constexpr std::size_t orcpt = 500;
// The header section kept for flow keys and capture; past this the rest of the header is not kept
// (the message is still accepted and counted).
inline constexpr std::size_t header_section = 64 * 1024;
// A header buffer grown past this for one message is freed when its transaction ends (not an RFC limit: the
// memory an idle connection keeps).
inline constexpr std::size_t header_kept = 16 * 1024;
// RFC 1870 (SIZE's size-value is 1*20DIGIT) and RFC 3030 2 (BDAT's chunk-size, 1*DIGIT): at most 20 digits,
// which hold every 64-bit value (2^64-1 = 18446744073709551615 has 20); parse_number refuses a 20-digit value
// above that as an overflow.
inline constexpr std::size_t max_number_digits = 20;

}  // namespace smtp::limits
