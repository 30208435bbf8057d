// The small JSON reader. See json_reader.hpp.
#include "json_reader.hpp"

#include <cstdlib>
#include <stdexcept>

#include "smtp/ascii.hpp"

namespace loadgen::json {
namespace {

constexpr int max_depth = 32;

class reader {
public:
    explicit reader(std::string_view t) : t_(t) {}

    value document() {
        value v = parse_value(0);
        skip_ws();
        if (pos_ != t_.size()) error("trailing bytes");
        return v;
    }

private:
    [[noreturn]] void error(const char* what) const {
        throw std::runtime_error(std::string("bad JSON (") + what + " at byte " + std::to_string(pos_) + ")");
    }
    void skip_ws() {
        while (pos_ < t_.size() && smtp::ascii::is_space(t_[pos_])) ++pos_;  // RFC 8259 2: exactly these four
    }
    char peek() {
        skip_ws();
        if (pos_ >= t_.size()) error("unexpected end");
        return t_[pos_];
    }
    void expect_word(std::string_view w) {
        if (t_.substr(pos_, w.size()) != w) error("bad literal");
        pos_ += w.size();
    }

    value parse_value(int depth) {
        if (depth > max_depth) error("nested too deep");
        value v;
        char c = peek();
        if (c == '{') {
            v.type = value::kind::object;
            ++pos_;
            if (peek() == '}') return ++pos_, v;
            for (;;) {
                if (peek() != '"') error("expected a key");
                std::string key = parse_string();
                if (peek() != ':') error("expected ':'");
                ++pos_;
                v.members.emplace_back(std::move(key), parse_value(depth + 1));
                char d = peek();
                ++pos_;
                if (d == '}') return v;
                if (d != ',') error("expected ',' or '}'");
            }
        }
        if (c == '[') {
            v.type = value::kind::array;
            ++pos_;
            if (peek() == ']') return ++pos_, v;
            for (;;) {
                v.items.push_back(parse_value(depth + 1));
                char d = peek();
                ++pos_;
                if (d == ']') return v;
                if (d != ',') error("expected ',' or ']'");
            }
        }
        if (c == '"') {
            v.type = value::kind::string;
            v.s = parse_string();
            return v;
        }
        if (c == 't') return expect_word("true"), v.type = value::kind::boolean, v.b = true, v;
        if (c == 'f') return expect_word("false"), v.type = value::kind::boolean, v;
        if (c == 'n') return expect_word("null"), v;
        return parse_number();
    }

    value parse_number() {
        std::size_t start = pos_;
        if (pos_ < t_.size() && t_[pos_] == '-') ++pos_;
        while (pos_ < t_.size() && std::string_view("0123456789.eE+-").find(t_[pos_]) != std::string_view::npos) ++pos_;
        if (start == pos_) error("unexpected character");
        std::string num(t_.substr(start, pos_ - start));
        char* end = nullptr;
        value v;
        v.type = value::kind::number;
        v.n = std::strtod(num.c_str(), &end);
        if (end != num.c_str() + num.size()) error("bad number");
        return v;
    }

    std::string parse_string() {
        ++pos_;  // the opening quote
        std::string out;
        while (pos_ < t_.size()) {
            char c = t_[pos_++];
            if (c == '"') return out;
            if (static_cast<unsigned char>(c) < 0x20) error("control character in a string");
            if (c != '\\') {
                out += c;
                continue;
            }
            if (pos_ >= t_.size()) break;
            char e = t_[pos_++];
            switch (e) {
            case '"': case '\\': case '/': out += e; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'n': out += '\n'; break;
            case 'r': out += '\r'; break;
            case 't': out += '\t'; break;
            case 'u': {
                if (pos_ + 4 > t_.size()) error("short \\u escape");
                unsigned cp = static_cast<unsigned>(std::strtoul(std::string(t_.substr(pos_, 4)).c_str(), nullptr, 16));
                pos_ += 4;
                out += cp < 0x80 ? static_cast<char>(cp) : '?';
                break;
            }
            default: error("bad escape");
            }
        }
        error("unterminated string");
    }

    std::string_view t_;
    std::size_t pos_ = 0;
};

}  // namespace

const value* value::get(std::string_view key) const noexcept {
    for (const auto& [k, v] : members)
        if (k == key) return &v;
    return nullptr;
}

value parse(std::string_view text) { return reader(text).document(); }

}  // namespace loadgen::json
