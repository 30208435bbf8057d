// A log-bucketed latency histogram in the manner of HdrHistogram: fixed memory, values in nanoseconds,
// 128 sub-buckets per power of two (under 1% relative error, better than two significant digits), exact below
// 256 ns, up to 2^40 ns (18 minutes; larger values land in the last bucket). One per thread, merged at the end.
#pragma once
#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>

namespace loadgen {

class histogram {
public:
    static constexpr unsigned sub_bits = 7;                       // 128 sub-buckets per power of two
    static constexpr unsigned max_shift = 40 - sub_bits;          // values below 2^40 are bucketed exactly
    static constexpr std::size_t buckets = (max_shift + 2) << sub_bits;

    void record(std::uint64_t v) noexcept {
        ++counts_[index(v)];
        ++total_;
        min_ = std::min(min_, v);
        max_ = std::max(max_, v);
    }

    void merge(const histogram& o) noexcept {
        for (std::size_t i = 0; i < buckets; ++i) counts_[i] += o.counts_[i];
        total_ += o.total_;
        min_ = std::min(min_, o.min_);
        max_ = std::max(max_, o.max_);
    }

    std::uint64_t count() const noexcept { return total_; }
    std::uint64_t min() const noexcept { return total_ ? min_ : 0; }
    std::uint64_t max() const noexcept { return max_; }

    // The value at or below which `p` percent of the recorded values lie (the highest value of its bucket,
    // clamped to the recorded extremes).
    std::uint64_t percentile(double p) const noexcept {
        if (total_ == 0) return 0;
        auto rank = static_cast<std::uint64_t>(p / 100.0 * static_cast<double>(total_) + 0.9999999);
        rank = std::clamp<std::uint64_t>(rank, 1, total_);
        std::uint64_t seen = 0;
        for (std::size_t i = 0; i < buckets; ++i) {
            seen += counts_[i];
            if (seen >= rank) return std::clamp(highest(i), min_, max_);
        }
        return max_;
    }

    static std::size_t index(std::uint64_t v) noexcept {
        constexpr std::uint64_t exact = std::uint64_t(2) << sub_bits;  // 256
        if (v < exact) return static_cast<std::size_t>(v);
        unsigned shift = static_cast<unsigned>(std::bit_width(v)) - 1 - sub_bits;  // >= 1
        if (shift > max_shift) return buckets - 1;
        return (std::size_t(shift) << sub_bits) + static_cast<std::size_t>(v >> shift);
    }

    // The highest value that lands in bucket i.
    static std::uint64_t highest(std::size_t i) noexcept {
        constexpr std::size_t exact = std::size_t(2) << sub_bits;
        if (i < exact) return i;
        std::size_t shift = (i >> sub_bits) - 1;
        std::uint64_t top = i - (shift << sub_bits);  // in [128, 256)
        return ((top + 1) << shift) - 1;
    }

private:
    std::array<std::uint64_t, buckets> counts_{};
    std::uint64_t total_ = 0;
    std::uint64_t min_ = UINT64_MAX;
    std::uint64_t max_ = 0;
};

}  // namespace loadgen
