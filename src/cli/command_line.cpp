// Parsing a program's command line and ending it early on --help, --version or bad usage. See command_line.hpp.
#include "cli/command_line.hpp"

#include <cstdio>

#include "cli/units.hpp"

#ifndef SMTP_BLACKHOLE_VERSION
#define SMTP_BLACKHOLE_VERSION "unknown"
#endif

namespace cli {
namespace {

int print(const std::string& text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return 0;
}

// The flag's text read by one of cli/units.hpp's parsers, its complaint turned into a usage error.
template <class Parse>
auto read_with(const command_line& cl, const std::string& flag, Parse parse) {
    try {
        return parse(cl.get<std::string>(flag));
    } catch (const std::invalid_argument& e) {
        throw usage_error("--" + flag + ": " + e.what());
    }
}

}  // namespace

int usage(std::string_view program, std::string_view why) {
    std::fprintf(stderr, "%.*s: %.*s (see --help)\n", int(program.size()), program.data(), int(why.size()),
                 why.data());
    return 2;
}

command_line::command_line(std::string program, std::string description)
    : program_(std::move(program)), options_(program_, std::move(description)) {}

std::optional<int> command_line::parse(int argc, const char* const* argv, const std::function<void()>& read) {
    add()("h,help", "print this help and exit")("version", "print the version and exit");  // last in the help
    try {
        result_ = options_.parse(argc, argv);
        if (!result_.unmatched().empty())
            throw usage_error("unexpected argument '" + result_.unmatched().front() + "'");
        if (given("help")) return print(options_.help());
        if (given("version")) return print(program_ + " " SMTP_BLACKHOLE_VERSION "\n");
        read();
    } catch (const cxxopts::exceptions::exception& e) {
        return usage(program_, e.what());
    } catch (const usage_error& e) {
        return usage(program_, e.what());
    }
    return std::nullopt;
}

std::vector<std::string> command_line::every(const std::string& flag) const {
    std::vector<std::string> out;
    for (const auto& kv : result_.arguments())
        if (kv.key() == flag) out.push_back(kv.value());
    return out;
}

std::uint64_t command_line::size(const std::string& flag) const { return read_with(*this, flag, parse_size); }

std::chrono::milliseconds command_line::duration(const std::string& flag) const {
    return read_with(*this, flag, parse_duration);
}

}  // namespace cli
