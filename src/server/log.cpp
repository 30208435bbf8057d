// key=value log lines on stderr. See log.hpp.
#include "server/log.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdio>

#include "sink/clock.hpp"

namespace server::log {
namespace {
std::atomic<int> current{int(level::info)};
constexpr std::string_view names[] = {"error", "warn", "info", "debug"};
}  // namespace

bool parse_level(std::string_view s, level& out) noexcept {
    for (std::size_t i = 0; i < std::size(names); ++i)
        if (s == names[i]) {
            out = level(i);
            return true;
        }
    return false;
}

std::string_view level_name(level l) noexcept { return names[int(l)]; }

void set_level(level l) noexcept { current.store(int(l)); }
bool enabled(level l) noexcept { return int(l) <= current.load(std::memory_order_relaxed); }

std::string escape(std::string_view v, std::size_t max) {
    bool cut = v.size() > max;
    if (cut) v = v.substr(0, max);
    bool quote = v.empty() || cut;
    for (char c : v)
        if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20 ||
            static_cast<unsigned char>(c) >= 0x7f)
            quote = true;
    if (!quote) return std::string(v);
    std::string out = "\"";
    for (char c : v) {
        auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (u < 0x20 || u >= 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", u);
            out += buf;
        } else {
            out += c;
        }
    }
    if (cut) out += "...";
    out += '"';
    return out;
}

void write(level l, std::string_view msg, std::span<const field> fields) {
    if (!enabled(l)) return;
    std::string line = "ts=";
    line += sink::rfc3339_ms(sink::now_ms());
    line += " level=";
    line += names[int(l)];
    line += " msg=";
    line += escape(msg, 1000);
    for (const auto& [k, v] : fields) {
        line += ' ';
        line += k;
        line += '=';
        line += escape(v);
    }
    line += '\n';
    std::size_t done = 0;
    while (done < line.size()) {
        auto n = ::write(2, line.data() + done, line.size() - done);
        if (n <= 0) break;
        done += std::size_t(n);
    }
}

}  // namespace server::log
