// Version 2's binary header (proxy-protocol.txt 2.2): the fixed 16 bytes, the address block, the TLVs (2.2.1 to
// 2.2.7). Addresses are decoded for TCP over IPv4 and IPv6 only; a unix socket's paths and an unspecified
// block are skipped, and the connection's own addresses stand. See parser.hpp.
#include <algorithm>
#include <array>

#include "proxy/address.hpp"
#include "proxy/limits.hpp"
#include "proxy/parser.hpp"

namespace proxy {

namespace {

constexpr std::array<std::uint8_t, 12> v2_signature{0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                                    0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
constexpr std::size_t version_at = 12, family_at = 13, length_at = 14;

// The 13th byte: version (high nibble, always 2) and command (low nibble).
constexpr unsigned version_2 = 0x2;
constexpr unsigned cmd_local = 0x0, cmd_proxy = 0x1;
// The 14th byte: address family (high nibble) and transport protocol (low nibble).
constexpr unsigned fam_unspec = 0x0, fam_inet = 0x1, fam_inet6 = 0x2, fam_unix = 0x3;
constexpr unsigned proto_unspec = 0x0, proto_stream = 0x1, proto_dgram = 0x2;
// The address block's size for each family: two addresses and, for IP, two ports.
constexpr std::size_t inet_block = 2 * 4 + 2 * 2, inet6_block = 2 * 16 + 2 * 2, unix_block = 2 * 108;

// TLV types (2.2) and the SSL TLV's fixed part and sub-types (2.2.6).
constexpr std::size_t tlv_head = 3;  // type, 16-bit length
constexpr std::uint8_t pp2_alpn = 0x01, pp2_authority = 0x02, pp2_crc32c = 0x03, pp2_ssl = 0x20;
constexpr std::size_t ssl_fixed = 1 + 4;  // client, verify
constexpr std::uint8_t ssl_version = 0x21, ssl_cn = 0x22, ssl_cipher = 0x23;
constexpr std::size_t crc32c_size = 4;

std::uint8_t byte_at(std::string_view s, std::size_t i) noexcept { return static_cast<std::uint8_t>(s[i]); }

std::uint16_t be16(std::string_view s, std::size_t i) noexcept {
    return static_cast<std::uint16_t>(byte_at(s, i) << 8 | byte_at(s, i + 1));
}

std::uint32_t be32(std::string_view s, std::size_t i) noexcept {
    return std::uint32_t{be16(s, i)} << 16 | be16(s, i + 2);
}

// The address block's size for a family and protocol; 0 when either is unspecified (its size is unknown).
std::size_t block_size(unsigned fam, unsigned proto) noexcept {
    if (fam == fam_unspec || proto == proto_unspec) return 0;
    if (fam == fam_inet) return inet_block;
    if (fam == fam_inet6) return inet6_block;
    return unix_block;
}

// CRC32C (Castagnoli, RFC 4960 appendix B, reflected polynomial 0x82F63B78) of `whole` with the 4 bytes at
// `zeroed` counted as zeros, as 2.2.3 asks of a receiver. Bitwise: it runs once per header, if at all.
std::uint32_t crc32c(std::string_view whole, std::size_t zeroed) noexcept {
    std::uint32_t crc = 0xffffffff;
    for (std::size_t i = 0; i < whole.size(); ++i) {
        crc ^= i >= zeroed && i < zeroed + crc32c_size ? 0 : byte_at(whole, i);
        for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
    }
    return ~crc;
}

// A TLV's value as text: printable ASCII as it is, any other byte (and '\', so the text reads back one way)
// as \xHH. False if it is longer than limits::tlv_text.
bool text_tlv(std::string_view value, std::string& out) {
    if (value.size() > limits::tlv_text) return false;
    static constexpr char hex[] = "0123456789abcdef";
    out.clear();
    for (char c : value) {
        auto b = static_cast<std::uint8_t>(c);
        if (b >= 0x20 && b < 0x7f && c != '\\') {
            out += c;
        } else {
            out += "\\x";
            out += hex[b >> 4];
            out += hex[b & 0xf];
        }
    }
    return true;
}

// Calls on_tlv(type, value) for each TLV of `s` in order; false if one does not fit in `s` or on_tlv says so.
template <class OnTlv>
bool each_tlv(std::string_view s, OnTlv&& on_tlv) {
    while (!s.empty()) {
        if (s.size() < tlv_head) return false;
        std::size_t n = be16(s, 1);
        if (s.size() - tlv_head < n) return false;
        if (!on_tlv(byte_at(s, 0), s.substr(tlv_head, n))) return false;
        s.remove_prefix(tlv_head + n);
    }
    return true;
}

// PP2_TYPE_SSL: client flags, verify result, then sub-TLVs.
bool decode_ssl(std::string_view value, ssl_info& out) {
    if (value.size() < ssl_fixed) return false;
    out = {};  // a second SSL TLV replaces the first
    out.present = true;
    out.client = byte_at(value, 0);
    out.verify = be32(value, 1);
    return each_tlv(value.substr(ssl_fixed), [&](std::uint8_t type, std::string_view v) {
        if (type == ssl_version) return text_tlv(v, out.version);
        if (type == ssl_cn) return text_tlv(v, out.common_name);
        if (type == ssl_cipher) return text_tlv(v, out.cipher);
        return true;
    });
}

}  // namespace

// Checks each field of the fixed part as soon as its byte is there, in the order of the bytes, so that the
// answer is the same however the bytes arrive; then waits for the whole header.
result parser::v2(std::string_view in) {
    for (std::size_t i = 0; i < std::min(in.size(), v2_signature.size()); ++i)
        if (byte_at(in, i) != v2_signature[i]) return finish(reason::not_proxy, 0);
    if (in.size() <= version_at) return verdict_;
    unsigned cmd = byte_at(in, version_at) & 0xf;
    if (byte_at(in, version_at) >> 4 != version_2 || (cmd != cmd_local && cmd != cmd_proxy))
        return finish(reason::bad_v2, 0);
    if (in.size() <= family_at) return verdict_;
    unsigned fam = byte_at(in, family_at) >> 4, proto = byte_at(in, family_at) & 0xf;
    if (fam > fam_unix || proto > proto_dgram) return finish(reason::bad_v2, 0);
    if (cmd == cmd_proxy && proto == proto_dgram) return finish(reason::unsupported, 0);
    if (in.size() < limits::v2_fixed) return verdict_;
    std::size_t length = limits::v2_fixed + be16(in, length_at);
    if (length > limits::v2_header) return finish(reason::too_long, 0);
    if (cmd == cmd_proxy && length - limits::v2_fixed < block_size(fam, proto)) return finish(reason::bad_v2, 0);
    if (in.size() < length) return verdict_;
    return finish(decode_v2(in.substr(0, length)), length);
}

// The whole header, its fixed part already checked.
reason parser::decode_v2(std::string_view whole) {
    header_.version = 2;
    if ((byte_at(whole, version_at) & 0xf) == cmd_local) {
        // 2.2: a LOCAL connection's block, family included, is discarded unread.
        header_.cmd = command::local;
        header_.fam = family::unspec;
        return reason::none;
    }
    header_.cmd = command::proxy;
    unsigned fam = byte_at(whole, family_at) >> 4, proto = byte_at(whole, family_at) & 0xf;
    static constexpr std::array<family, 4> families{family::unspec, family::inet, family::inet6, family::unix_socket};
    header_.fam = families[fam];
    auto block = whole.substr(limits::v2_fixed);
    auto bytes = reinterpret_cast<const std::uint8_t*>(block.data());
    std::size_t ports_at = 0;
    if (fam == fam_inet && proto == proto_stream) {
        header_.source = address::v4(std::span<const std::uint8_t, 4>(bytes, 4)).to_string();
        header_.destination = address::v4(std::span<const std::uint8_t, 4>(bytes + 4, 4)).to_string();
        ports_at = 2 * 4;
    } else if (fam == fam_inet6 && proto == proto_stream) {
        header_.source = address::v6(std::span<const std::uint8_t, 16>(bytes, 16)).to_string();
        header_.destination = address::v6(std::span<const std::uint8_t, 16>(bytes + 16, 16)).to_string();
        ports_at = 2 * 16;
    }
    if (ports_at != 0) {
        header_.source_port = be16(block, ports_at);
        header_.destination_port = be16(block, ports_at + 2);
    }
    std::size_t skip = block_size(fam, proto);
    // 2.2: an unspecified block's size is unknown, so no TLV can be found after it; it is ignored.
    if (skip == 0) return reason::none;
    return decode_tlvs(whole, block.substr(skip));
}

// The TLVs after the address block: their framing checked, ALPN, authority and SSL kept, a CRC32C verified.
reason parser::decode_tlvs(std::string_view whole, std::string_view tlvs) {
    bool ok = each_tlv(tlvs, [&](std::uint8_t type, std::string_view v) {
        if (type == pp2_alpn) return text_tlv(v, header_.alpn);
        if (type == pp2_authority) return text_tlv(v, header_.authority);
        if (type == pp2_ssl) return decode_ssl(v, header_.ssl);
        if (type == pp2_crc32c)
            return v.size() == crc32c_size &&
                   be32(v, 0) == crc32c(whole, static_cast<std::size_t>(v.data() - whole.data()));
        return true;
    });
    return ok ? reason::none : reason::bad_v2;
}

}  // namespace proxy
