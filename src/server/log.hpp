// Logging to stderr as key=value lines, one write(2) per line so threads never interleave.
// Hostile bytes (from clients) are escaped and truncated before they are logged.
#pragma once
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace server::log {

enum class level { error, warn, info, debug };

bool parse_level(std::string_view s, level& out) noexcept;
// The name parse_level reads: "info".
std::string_view level_name(level l) noexcept;
void set_level(level l) noexcept;
bool enabled(level l) noexcept;

using field = std::pair<std::string_view, std::string_view>;
// Writes `ts=... level=... msg="..." k=v ...`.
void write(level l, std::string_view msg, std::span<const field> fields);
inline void write(level l, std::string_view msg, std::initializer_list<field> fields = {}) {
    write(l, msg, std::span<const field>(fields.begin(), fields.size()));
}

inline void error(std::string_view msg, std::initializer_list<field> f = {}) { write(level::error, msg, f); }
inline void warn(std::string_view msg, std::initializer_list<field> f = {}) { write(level::warn, msg, f); }
inline void info(std::string_view msg, std::initializer_list<field> f = {}) { write(level::info, msg, f); }
inline void debug(std::string_view msg, std::initializer_list<field> f = {}) {
    if (enabled(level::debug)) write(level::debug, msg, f);
}

// A value made safe for a log line: quoted when needed, escaped, cut at `max` bytes.
std::string escape(std::string_view v, std::size_t max = 200);

}  // namespace server::log
