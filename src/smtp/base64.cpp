// Base64 encoding and strict decoding. See base64.hpp.
#include "smtp/base64.hpp"

namespace smtp::base64 {
namespace {
constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}
}  // namespace

void encode(std::string_view in, std::string& out) {
    out.clear();
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 | (unsigned char)in[i + 2];
        out += alphabet[v >> 18];
        out += alphabet[(v >> 12) & 63];
        out += alphabet[(v >> 6) & 63];
        out += alphabet[v & 63];
    }
    if (i + 1 == in.size()) {
        unsigned v = (unsigned char)in[i] << 16;
        out += alphabet[v >> 18];
        out += alphabet[(v >> 12) & 63];
        out += "==";
    } else if (i + 2 == in.size()) {
        unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8;
        out += alphabet[v >> 18];
        out += alphabet[(v >> 12) & 63];
        out += alphabet[(v >> 6) & 63];
        out += '=';
    }
}

bool decode(std::string_view in, std::string& out) {
    out.clear();
    if (in.size() % 4 != 0) return false;
    for (std::size_t i = 0; i < in.size(); i += 4) {
        int a = value(in[i]), b = value(in[i + 1]);
        bool last = i + 4 == in.size();
        int c = in[i + 2] == '=' && last ? -2 : value(in[i + 2]);
        int d = in[i + 3] == '=' && last ? -2 : value(in[i + 3]);
        if (a < 0 || b < 0 || c == -1 || d == -1 || (c == -2 && d != -2)) return false;
        unsigned v = unsigned(a) << 18 | unsigned(b) << 12 | unsigned(c < 0 ? 0 : c) << 6 | unsigned(d < 0 ? 0 : d);
        out += char(v >> 16);
        if (c >= 0) out += char((v >> 8) & 255);
        if (d >= 0) out += char(v & 255);
    }
    return true;
}

}  // namespace smtp::base64
