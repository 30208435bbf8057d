// Limits of the PROXY header parser, each with the section of HAProxy's proxy-protocol.txt (or the HAProxy
// behaviour) that sets it.
#pragma once
#include <cstddef>

namespace proxy::limits {

// 2.1: a version 1 line is at most 107 bytes, its CR LF included ("PROXY UNKNOWN" with two IPv6 addresses).
inline constexpr std::size_t v1_line = 107;
// 2.2: the fixed part of a version 2 header: signature (12), version and command, family and protocol, and the
// 16-bit length of what follows.
inline constexpr std::size_t v2_fixed = 16;
// Not in the spec, whose 16-bit length allows 16 + 65535 bytes: HAProxy reads the whole header with one recv()
// into a buffer of tune.bufsize (16384 bytes by default), so it neither accepts nor builds a longer one; the
// same cap here, the fixed part included. A client certificate in the SSL TLV is what makes a header long.
inline constexpr std::size_t v2_header = 16384;
// A TLV value exposed as text (authority, ALPN, TLS version, cipher, common name) is at most this long, or the
// header is refused: HAProxy's own cap on PP2_TYPE_AUTHORITY (HA_PP2_AUTHORITY_MAX); the others' real values are
// far shorter (an ALPN name is at most 255 bytes by RFC 7301 3.1, a common name 64 by RFC 5280 A.1).
inline constexpr std::size_t tlv_text = 255;

}  // namespace proxy::limits
