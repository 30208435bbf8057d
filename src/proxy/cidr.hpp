// A network in CIDR notation ("10.0.0.0/8", "2001:db8::/32", or one host: "127.0.0.1", "::1"), for telling
// which peers may send a PROXY header. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) count as the IPv4 address
// they stand for, in a network and in a peer: "::ffff:10.0.0.0/104" is 10.0.0.0/8, and 10.0.0.0/8 holds the
// peer ::ffff:10.1.2.3; an IPv6 network never holds an IPv4 peer (::/0 is not "everything": add 0.0.0.0/0).
#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "proxy/address.hpp"

namespace proxy {

class cidr {
public:
    // Nothing for bad text: a bad address, a prefix length that is not a decimal (no leading zeros) within 32
    // or 128, or host bits set below the prefix ("10.0.0.1/8": a typo more often than a wish).
    static std::optional<cidr> parse(std::string_view text);

    bool contains(const address& a) const noexcept;
    // The network's first address and its prefix length: 10.0.0.0 and 8.
    const address& network() const noexcept { return network_; }
    unsigned prefix() const noexcept { return prefix_; }
    // "10.0.0.0/8", "::1/128": the prefix is always written.
    std::string to_string() const;

    bool operator==(const cidr&) const = default;

private:
    cidr(address network, unsigned prefix) noexcept : network_(network), prefix_(prefix) {}

    address network_;
    unsigned prefix_;
};

}  // namespace proxy
