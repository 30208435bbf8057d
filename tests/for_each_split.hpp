// for_each_split: the one driver behind every "same input, however the reads cut it" check (Beast's parser
// tests do the same). The unit tests and the fuzz target give it how to run a list of pieces and how to
// compare two runs; it gives the cuttings. No test framework here, so the fuzz target can use it.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace split {

using pieces = std::vector<std::string_view>;

// `in` cut into pieces of these sizes, cycled; a size of 0, or one larger than what is left, takes the rest.
// No sizes give the whole input as one piece.
inline pieces cut(std::string_view in, const std::vector<std::size_t>& sizes) {
    pieces out;
    for (std::size_t pos = 0, k = 0; pos < in.size(); ++k) {
        std::size_t n = sizes.empty() ? 0 : sizes[k % sizes.size()];
        if (n == 0 || n > in.size() - pos) n = in.size() - pos;
        out.push_back(in.substr(pos, n));
        pos += n;
    }
    return out;
}

// How an input is cut besides whole: into pieces of each size list (see cut), and, with every_offset, in two
// at every offset.
struct ways {
    std::vector<std::vector<std::size_t>> sizes{{1}};  // {1}: byte by byte
    bool every_offset = true;
};

// What a cutting is called in a failure message.
inline std::string describe(const std::vector<std::size_t>& sizes) {
    if (sizes == std::vector<std::size_t>{1}) return "byte by byte";
    std::string out = "in pieces of";
    for (auto n : sizes) out.append(" ").append(std::to_string(n));
    return out;
}

// Runs `in` whole (one piece), then cut every way `how` says, and compares each run with the whole one:
// `agree(whole, run, what)` reports a difference itself and returns false; the first split at an offset that
// disagrees ends the offset scan. Returns the whole run.
template <class Run, class Agree>
auto for_each_split(std::string_view in, Run&& run, Agree&& agree, const ways& how = {}) {
    auto whole = run(pieces{in});
    for (const auto& sizes : how.sizes) agree(whole, run(cut(in, sizes)), describe(sizes));
    if (how.every_offset)
        for (std::size_t at = 1; at < in.size(); ++at)
            if (!agree(whole, run(pieces{in.substr(0, at), in.substr(at)}), "split at " + std::to_string(at)))
                break;
    return whole;
}

// What a fuzz input's check found: the run of the whole input, and the first problem (empty: none).
template <class R>
struct checked {
    R whole;
    std::string problem;
};

// The fuzz targets' split check: the first `size_bytes` bytes of `data` give piece sizes (cycled, 0: the rest),
// tried before `more`'s cuttings; the rest is fed whole and every way. A run carries its own `problem` (empty when
// fine): the whole run's comes first, then the first cutting's, then the first cutting whose run differs from the
// whole one (`what_differs`, e.g. "the replies depend", opens that message). No value for an input too short.
template <class Run>
auto check_splits(std::string_view data, Run&& run, std::string_view what_differs, ways more,
                  std::size_t size_bytes = 4) -> std::optional<checked<decltype(run(pieces{}))>> {
    using R = decltype(run(pieces{}));
    if (data.size() < size_bytes) return std::nullopt;
    auto& sizes = *more.sizes.emplace(more.sizes.begin());
    for (unsigned char n : data.substr(0, size_bytes)) sizes.push_back(n);
    std::string problem;
    auto agree = [&](const R& whole, const R& r, const std::string& how) {
        if (problem.empty() && !r.problem.empty()) problem = r.problem + " (" + how + ")";
        if (problem.empty() && !(r == whole))
            problem = std::string(what_differs) + " on how the input was split: " + how;
        return problem.empty();
    };
    auto whole = for_each_split(data.substr(size_bytes), run, agree, more);
    if (!whole.problem.empty()) problem = whole.problem;
    return checked<R>{std::move(whole), std::move(problem)};
}

}  // namespace split
