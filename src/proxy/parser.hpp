// HAProxy's PROXY protocol header (doc/proxy-protocol.txt: version 1 text, version 2 binary), read sans-IO by
// a proxy's receiver: fed the first bytes of a connection, it says "more", "done after n bytes" (the rest is the
// client's SMTP or TLS) or why they are refused, as soon as a byte decides it. It does no I/O, keeps no copy of
// the bytes, and neither checks which peers may send a header (see cidr.hpp) nor times out.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace proxy {

enum class status : std::uint8_t { need_more, done, error };

// Why the bytes are refused; to_string gives the name a log line or a metric label uses.
enum class reason : std::uint8_t {
    none,
    not_proxy,    // the first bytes start neither version's signature (a client that talks first, a TLS hello)
    bad_v1,       // "PROXY" and then a line that breaks 2.1
    bad_v2,       // the v2 signature and then a header that breaks 2.2 (a bad TLV or CRC32C included)
    too_long,     // no CR LF within 107 bytes, or a v2 header longer than limits::v2_header
    unsupported,  // a well-formed v2 header for a datagram (UDP, unix datagram) connection
};
std::string_view to_string(reason r) noexcept;

struct result {
    status state = status::need_more;
    reason why = reason::none;  // with status::error
    std::size_t consumed = 0;   // with status::done: the header's length; the bytes after it are the client's
    bool operator==(const result&) const = default;
};

// proxy: the addresses are the client's; local (a v2 health check) and unknown (v1 UNKNOWN): there are none,
// and the connection's own addresses stand.
enum class command : std::uint8_t { proxy, local, unknown };
// The address family as sent; unspec for v1 UNKNOWN and v2 LOCAL, whose family is ignored (2.2).
enum class family : std::uint8_t { unspec, inet, inet6, unix_socket };

// PP2_TYPE_SSL (2.2.6): how the client reached the proxy over TLS.
struct ssl_info {
    bool present = false;
    std::uint8_t client = 0;  // PP2_CLIENT_SSL 0x01, PP2_CLIENT_CERT_CONN 0x02, PP2_CLIENT_CERT_SESS 0x04
    std::uint32_t verify = 0;  // 0: the client's certificate was verified
    std::string version, cipher, common_name;  // PP2_SUBTYPE_SSL_VERSION, _CIPHER, _CN
    bool operator==(const ssl_info&) const = default;
};

struct header {
    int version = 0;  // 1 or 2
    command cmd = command::unknown;
    family fam = family::unspec;
    // "192.0.2.1", "2001:db8::1" (inet_ntop's form); empty unless cmd is proxy over inet or inet6.
    std::string source, destination;
    std::uint16_t source_port = 0, destination_port = 0;
    // Version 2 TLVs (2.2.1, 2.2.2, 2.2.6), as text: bytes outside printable ASCII, and '\', written as \xHH.
    // Other TLVs are checked for their framing and skipped; a CRC32C (2.2.3) is verified.
    std::string authority, alpn;
    ssl_info ssl;

    bool has_address() const noexcept { return !source.empty(); }
    // The client as the sink logs a peer: "192.0.2.1:5678", "[2001:db8::1]:5678"; "" without an address.
    std::string client() const;
    bool operator==(const header&) const = default;
};

class parser {
public:
    // `in` is every byte the connection has brought so far: nothing is consumed before the header is whole, so
    // each call passes the previous call's bytes again, with more after them. Bytes already looked at are not
    // looked at again. Once done or refused, the same result comes back for every later call.
    result feed(std::string_view in);
    // The header; complete once feed has said done.
    const header& get() const noexcept { return header_; }
    // Ready for a new connection.
    void reset() noexcept;

private:
    result v1(std::string_view in);
    result v2(std::string_view in);
    reason decode_v1(std::string_view line);
    reason decode_v2(std::string_view whole);
    reason decode_tlvs(std::string_view whole, std::string_view tlvs);
    result finish(reason why, std::size_t length) noexcept;

    std::size_t checked_ = 0;  // version 1: bytes of the line looked at for its CR LF
    result verdict_;
    header header_;
};

}  // namespace proxy
