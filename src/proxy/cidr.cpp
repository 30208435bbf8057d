// CIDR networks. See cidr.hpp.
#include "proxy/cidr.hpp"

namespace proxy {

namespace {

// The bits of the mapped prefix ::ffff:0:0/96 in front of an IPv4 address.
constexpr unsigned mapped_bits = 96;

// Whether the first `bits` bits of a and b are equal (both at least that long).
bool same_prefix(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b, unsigned bits) noexcept {
    std::size_t whole = bits / 8;
    for (std::size_t i = 0; i < whole; ++i)
        if (a[i] != b[i]) return false;
    unsigned rest = bits % 8;
    if (rest == 0) return true;
    auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
    return (a[whole] & mask) == (b[whole] & mask);
}

// A prefix length: decimal digits without leading zeros, at most `max`.
std::optional<unsigned> parse_prefix(std::string_view text, unsigned max) noexcept {
    if (text.empty() || text.size() > 3 || (text.size() > 1 && text[0] == '0')) return std::nullopt;
    unsigned n = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        n = n * 10 + static_cast<unsigned>(c - '0');
    }
    if (n > max) return std::nullopt;
    return n;
}

}  // namespace

std::optional<cidr> cidr::parse(std::string_view text) {
    auto slash = text.find('/');
    auto a = address::parse(text.substr(0, slash));
    if (!a) return std::nullopt;
    unsigned max = a->is_v4() ? 32 : 128;
    unsigned prefix = max;
    if (slash != std::string_view::npos) {
        auto p = parse_prefix(text.substr(slash + 1), max);
        if (!p) return std::nullopt;
        prefix = *p;
    }
    // Host bits must be zero: the network compared with itself cut to its prefix.
    auto bytes = a->bytes();
    for (unsigned bit = prefix; bit < max; ++bit)
        if (bytes[bit / 8] & (0x80 >> (bit % 8))) return std::nullopt;
    // A mapped network is an IPv4 one; its prefix is at least 96, or the ffff above would be host bits.
    auto plain = a->unmapped();
    if (plain.is_v4() && !a->is_v4()) return cidr(plain, prefix - mapped_bits);
    return cidr(*a, prefix);
}

bool cidr::contains(const address& a) const noexcept {
    auto plain = a.unmapped();
    if (plain.is_v4() != network_.is_v4()) return false;
    return same_prefix(plain.bytes(), network_.bytes(), prefix_);
}

std::string cidr::to_string() const { return network_.to_string() + "/" + std::to_string(prefix_); }

}  // namespace proxy
