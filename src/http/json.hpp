// A small JSON writer (RFC 8259) for the API: strings are escaped and always valid UTF-8 (bytes that are not
// UTF-8, as mail headers may hold, become U+FFFD). Numbers are integers; times are RFC 3339 strings.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace http::json {

class writer {
public:
    writer& begin_object() { return open('{'); }
    writer& end_object() { return close('}'); }
    writer& begin_array() { return open('['); }
    writer& end_array() { return close(']'); }
    writer& key(std::string_view k);
    writer& value(std::string_view s);
    writer& value(const char* s) { return value(std::string_view(s)); }
    writer& value(std::uint64_t n);
    writer& value(bool b);
    writer& null();
    // Unix milliseconds as "2026-11-23T20:00:00.123Z", or null for 0.
    writer& time_ms(std::int64_t ms);
    std::string take() { return std::move(out_); }
    const std::string& str() const noexcept { return out_; }

private:
    writer& open(char c);
    writer& close(char c);
    void separate();
    std::string out_;
    bool first_ = true;     // nothing written yet at this level
    bool after_key_ = false;
};

// Appends `s` as a JSON string literal.
void append_string(std::string& out, std::string_view s);

}  // namespace http::json
