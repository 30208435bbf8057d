// The DATA body scanner (RFC 5321 4.1.1.4, 4.5.2): finds the end of data, removes dot-stuffing, and
// flags SMTP-smuggling shapes. Streaming: it keeps its state between calls and consumes every byte it is
// given up to and including the terminator, so feeding a body in pieces of any size gives the same result.
// Only CR LF . CR LF ends the data. A "." line after a bare LF or a bare CR (\n.\n, \r.\r\n, \n.\r\n,
// \r\n.\n ...) is content, never an end, and is flagged as a smuggling suspect.
// Every one of those cases has a "." in it, so the scan goes from dot to dot (memchr), and looks at the bytes
// around each: a body with few dots (base64, most generated mail) costs one memchr per read, not one per line.
#pragma once
#include <cstddef>
#include <cstring>
#include <string_view>

namespace smtp {

class data_scanner {
public:
    struct result {
        std::size_t consumed;
        bool ended;
    };

    // Starts a new body: the DATA command's CRLF counts as the end of a line.
    void reset() noexcept {
        state_ = state::content;
        cr_held_ = false;
        std::memcpy(hist_, initial_hist, 4);
        suspect_ = false;
    }

    // Scans `in`, calling on_content(std::string_view) with the unstuffed content (several pieces may make
    // up one call's content). Stops right after the terminator when it is found.
    template <class OnContent>
    result scan(std::string_view in, OnContent&& on_content) noexcept {
        const char* p = in.data();
        const std::size_t n = in.size();
        std::size_t pos = 0;
        std::size_t seg = 0;  // start of content not yet handed out
        if (cr_held_ && n > 0) {
            cr_held_ = false;
            if (p[0] == '\n') {  // "." CR LF after a line end, split across calls: the end
                remember(in, 1);
                return {1, true};
            }
            on_content(std::string_view("\r", 1));  // the "." was stuffing; the CR held back is content
            state_ = state::content;
        }
        // An LF in this call's first two bytes may end a "." line whose dot came in an earlier call.
        for (std::size_t k = 0; k < 2 && k < n; ++k)
            if (p[k] == '\n') check_suspect(in, k);
        while (pos < n) {
            switch (state_) {
            case state::content: {
                auto* dot = static_cast<const char*>(std::memchr(p + pos, '.', n - pos));
                if (!dot) {
                    pos = n;
                    break;
                }
                const std::size_t i = std::size_t(dot - p);
                // A "." line ends at the LF after the dot, or after the dot and a CR.
                if (i + 1 < n && p[i + 1] == '\n') check_suspect(in, i + 1);
                else if (i + 2 < n && p[i + 1] == '\r' && p[i + 2] == '\n') check_suspect(in, i + 2);
                pos = i + 1;
                if (at(in, i, 1) == '\n' && at(in, i, 2) == '\r') {  // first on a line: stuffing, or the end
                    if (i > seg) on_content(std::string_view(p + seg, i - seg));
                    seg = pos;
                    state_ = state::dot;
                }
                break;
            }
            case state::dot:
                if (p[pos] == '\r') {
                    ++pos;
                    state_ = state::dot_cr;
                } else {
                    state_ = state::content;  // the dot was stuffing and is gone
                }
                break;
            case state::dot_cr:
                if (p[pos] == '\n') {
                    remember(in, pos + 1);
                    return {pos + 1, true};
                }
                state_ = state::content;
                break;
            }
        }
        std::size_t end = n;
        if (state_ == state::dot_cr && n > 0) {  // "." CR at the very end: hold the CR until LF is known
            end = n - 1;
            cr_held_ = true;
        }
        if (end > seg) on_content(std::string_view(p + seg, end - seg));
        remember(in, n);
        return {n, false};
    }

    // Whether this body had a smuggling shape (a "." line ended by something other than CR LF . CR LF).
    bool suspect() const noexcept { return suspect_; }

private:
    // content: anywhere but right after a dot that began a line; dot: right after one; dot_cr: after it and a CR.
    enum class state : unsigned char { content, dot, dot_cr };

    // The byte `back` positions before index i of `in`, reaching into earlier calls' bytes.
    char at(std::string_view in, std::size_t i, std::size_t back) const noexcept {
        return i >= back ? in[i - back] : hist_[4 - (back - i)];
    }

    // At an LF at index i: is this the end of a "." line that is not the real terminator? (Only an LF one or two
    // bytes after a dot can be: every such LF is checked, as the dot is found or at the start of the next call.)
    void check_suspect(std::string_view in, std::size_t i) noexcept {
        char b1 = at(in, i, 1);
        if (b1 == '.') {  // [CR|LF] . LF
            char b2 = at(in, i, 2);
            if (b2 == '\n' || b2 == '\r') suspect_ = true;
        } else if (b1 == '\r' && at(in, i, 2) == '.') {  // x . CR LF with x a bare CR or a bare LF
            char b3 = at(in, i, 3);
            if (b3 == '\r' || (b3 == '\n' && at(in, i, 4) != '\r')) suspect_ = true;
        }
    }

    // Keeps the last four raw bytes seen (up to `upto` in `in`) for look-back across calls.
    void remember(std::string_view in, std::size_t upto) noexcept {
        for (std::size_t k = 0; k < 4; ++k) {
            char c = (upto >= 4 - k) ? in[upto - (4 - k)] : hist_[k + upto];
            tmp_[k] = c;
        }
        std::memcpy(hist_, tmp_, 4);
    }

    state state_ = state::content;
    bool cr_held_ = false;
    bool suspect_ = false;
    static constexpr char initial_hist[4] = {'\0', '\0', '\r', '\n'};  // as if after the DATA line
    char hist_[4] = {'\0', '\0', '\r', '\n'};
    char tmp_[4] = {};
};

}  // namespace smtp
