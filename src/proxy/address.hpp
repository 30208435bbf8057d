// An IPv4 or IPv6 address: strict parsing of its text, its bytes, and its text as the server logs it.
// IPv4 text is a dotted quad of decimals 0-255 without leading zeros (proxy-protocol.txt 2.1); IPv6 text is
// what POSIX inet_pton accepts (no zone "%eth0"), and is written by inet_ntop, as Asio writes a peer's address.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace proxy {

class address {
public:
    static address v4(std::span<const std::uint8_t, 4> bytes) noexcept;
    static address v6(std::span<const std::uint8_t, 16> bytes) noexcept;
    // "192.0.2.1", "2001:db8::1", "::ffff:192.0.2.1"; nothing for anything else (leading zeros, a zone, spaces).
    static std::optional<address> parse(std::string_view text);
    static std::optional<address> parse_v4(std::string_view text) noexcept;
    static std::optional<address> parse_v6(std::string_view text) noexcept;

    bool is_v4() const noexcept { return v4_; }
    // 4 bytes for IPv4, 16 for IPv6, in network order.
    std::span<const std::uint8_t> bytes() const noexcept { return {bytes_.data(), v4_ ? 4u : 16u}; }
    // An IPv4-mapped IPv6 address (::ffff:a.b.c.d) as the IPv4 address it stands for; any other as it is.
    address unmapped() const noexcept;
    // "192.0.2.1", "2001:db8::1" (inet_ntop's form: lower case, the longest run of zero groups as "::").
    std::string to_string() const;

    bool operator==(const address&) const = default;

private:
    std::array<std::uint8_t, 16> bytes_{};
    bool v4_ = true;
};

}  // namespace proxy
