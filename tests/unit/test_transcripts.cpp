// Replays every transcript in tests/transcripts/ through the session, whole, byte by byte and split at every
// offset, and compares the replies byte for byte.
//
// Transcript format, one item per line:
//   # comment            ignored
//   ! max-message-size N  ! max-recipients N  ! disable EXTENSION   options (before the first C/S line)
//   ! messages N         the number of transactions that must be accepted
//   ! closed             the session must end closing (after QUIT, 421, ...)
//   C: text              client sends text + CRLF
//   C~ text              client sends text as is, with escapes \r \n \t \\ \xHH, no CRLF added
//   S: text              server replies text + CRLF
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "harness.hpp"

namespace {

std::string unescape(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '\\' || i + 1 == s.size()) {
            out += s[i];
            continue;
        }
        char c = s[++i];
        if (c == 'r') out += '\r';
        else if (c == 'n') out += '\n';
        else if (c == 't') out += '\t';
        else if (c == 'x' && i + 2 < s.size()) {
            out += char(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
            i += 2;
        } else out += c;
    }
    return out;
}

struct transcript {
    smtp::options opts;
    std::string client, server;
    std::vector<std::string> writes;  // the client's bytes grouped as the client writes them: C lines between S lines
    long messages = -1;
    bool closed = false;
};

transcript load(const std::filesystem::path& file) {
    transcript t;
    t.opts.hostname = "mx.test";
    t.opts.max_message_size = 1000;
    t.opts.max_recipients = 3;
    std::ifstream in(file, std::ios::binary);
    std::string line;
    bool last_was_server = true;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty() || line[0] == '#') continue;
        auto rest = line.size() > 3 ? line.substr(3) : std::string();
        bool is_client = line.rfind("C: ", 0) == 0 || line == "C:" || line.rfind("C~ ", 0) == 0;
        if (is_client && (t.writes.empty() || last_was_server)) t.writes.emplace_back();
        last_was_server = !is_client;
        if (line.rfind("C: ", 0) == 0 || line == "C:") {
            t.client += rest + "\r\n";
            t.writes.back() += rest + "\r\n";
        } else if (line.rfind("C~ ", 0) == 0) {
            t.client += unescape(rest);
            t.writes.back() += unescape(rest);
        } else if (line.rfind("S: ", 0) == 0) {
            t.server += rest + "\r\n";
        } else if (line.rfind("! ", 0) == 0) {
            std::string key = line.substr(2, line.find(' ', 2) - 2);
            std::string value = line.find(' ', 2) == std::string::npos ? "" : line.substr(line.find(' ', 2) + 1);
            if (key == "max-message-size") t.opts.max_message_size = std::stoull(value);
            else if (key == "max-recipients") t.opts.max_recipients = std::stoull(value);
            else if (key == "messages") t.messages = std::stol(value);
            else if (key == "closed") t.closed = true;
            else if (key == "disable") {
                smtp::extension e{};
                REQUIRE_MESSAGE(smtp::extension_from_name(value, e), "unknown extension " << value);
                t.opts.disable(e);
            } else {
                FAIL("unknown directive " << line);
            }
        } else {
            FAIL("bad transcript line in " << file << ": " << line);
        }
    }
    return t;
}

}  // namespace

TEST_CASE("transcripts replay identically however the input is split") {
    namespace fs = std::filesystem;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(TRANSCRIPT_DIR))
        if (e.path().extension() == ".txt") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    REQUIRE(files.size() >= 10);
    for (const auto& f : files) {
        SUBCASE(f.filename().string().c_str()) {
            auto t = load(f);
            smtp::profile p(t.opts);
            // Without PIPELINING, how the bytes are cut changes the answer by design: feed them as the
            // client writes them (each run of C lines between S lines is one write).
            auto by_write = test::run_pieces(p, split::pieces(t.writes.begin(), t.writes.end()));
            auto r = t.opts.enabled(smtp::extension::pipelining) ? test::for_each_split(p, t.client) : by_write;
            CHECK_MESSAGE(r == by_write, "feeding write by write differs:\n" << by_write.output);
            CHECK_MESSAGE(r.output == t.server, f.filename().string() << "\n--- got ---\n"
                                                                      << r.output << "--- expected ---\n"
                                                                      << t.server);
            if (t.messages >= 0) CHECK(long(r.messages.size()) == t.messages);
            CHECK(r.closed == t.closed);
        }
    }
}
