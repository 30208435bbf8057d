// The chance of a fault rule's `probability`: one small generator per connection, seeded from --fault-seed and
// the session id, so that the same seed and the same traffic on one connection give the same firings.
// splitmix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number generators", 2014): its whole state is
// one 64-bit word, so a connection carries 8 bytes for it.
#pragma once
#include <cstdint>

namespace fault {

class random {
public:
    explicit random(std::uint64_t seed) noexcept : state_(seed) {}
    std::uint64_t next() noexcept {
        std::uint64_t z = (state_ += 0x9e3779b97f4a7c15);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
        z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
        return z ^ (z >> 31);
    }
    // Uniform in [0, 1), from the top 53 bits.
    double uniform() noexcept { return double(next() >> 11) * 0x1.0p-53; }

private:
    std::uint64_t state_;
};

// The seed of one connection's generator.
inline std::uint64_t connection_seed(std::uint64_t fault_seed, std::uint64_t session_id) noexcept {
    return random(fault_seed ^ random(session_id).next()).next();
}

}  // namespace fault
