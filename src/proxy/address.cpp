// Address text in and out. See address.hpp.
#include "proxy/address.hpp"

#include <arpa/inet.h>

#include <algorithm>

namespace proxy {

namespace {

// The longest IPv6 text inet_pton can accept ("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"), plus its NUL.
constexpr std::size_t v6_text_room = INET6_ADDRSTRLEN;

constexpr std::array<std::uint8_t, 12> mapped_prefix{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

}  // namespace

address address::v4(std::span<const std::uint8_t, 4> bytes) noexcept {
    address a;
    std::copy(bytes.begin(), bytes.end(), a.bytes_.begin());
    return a;
}

address address::v6(std::span<const std::uint8_t, 16> bytes) noexcept {
    address a;
    std::copy(bytes.begin(), bytes.end(), a.bytes_.begin());
    a.v4_ = false;
    return a;
}

std::optional<address> address::parse(std::string_view text) {
    if (text.find(':') != std::string_view::npos) return parse_v6(text);
    return parse_v4(text);
}

std::optional<address> address::parse_v4(std::string_view text) noexcept {
    std::array<std::uint8_t, 4> out{};
    std::size_t pos = 0;
    for (std::size_t part = 0; part < 4; ++part) {
        if (part > 0) {
            if (pos >= text.size() || text[pos] != '.') return std::nullopt;
            ++pos;
        }
        std::size_t start = pos;
        unsigned value = 0;
        while (pos < text.size() && is_digit(text[pos]) && pos - start < 3) value = value * 10 + (text[pos++] - '0');
        std::size_t digits = pos - start;
        if (digits == 0 || value > 255 || (digits > 1 && text[start] == '0')) return std::nullopt;
        out[part] = static_cast<std::uint8_t>(value);
    }
    if (pos != text.size()) return std::nullopt;
    return v4(out);
}

std::optional<address> address::parse_v6(std::string_view text) noexcept {
    // inet_pton reads a C string: an embedded NUL would cut the text short, so it is refused here.
    if (text.size() >= v6_text_room || text.find('\0') != std::string_view::npos) return std::nullopt;
    char buf[v6_text_room];
    std::copy(text.begin(), text.end(), buf);
    buf[text.size()] = '\0';
    std::array<std::uint8_t, 16> out{};
    if (inet_pton(AF_INET6, buf, out.data()) != 1) return std::nullopt;
    return v6(out);
}

address address::unmapped() const noexcept {
    if (v4_ || !std::equal(mapped_prefix.begin(), mapped_prefix.end(), bytes_.begin())) return *this;
    return v4(std::span<const std::uint8_t, 4>(bytes_.data() + 12, 4));
}

std::string address::to_string() const {
    char buf[v6_text_room];
    if (inet_ntop(v4_ ? AF_INET : AF_INET6, bytes_.data(), buf, sizeof buf) == nullptr) return {};
    return buf;
}

}  // namespace proxy
