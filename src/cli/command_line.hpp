// A program's command line on cxxopts, shared by the daemon and the load generator: the flag table with
// -h/--help and --version, flags also read from the environment (PREFIX_<FLAG>) when the program asks, and
// parsing that turns every cxxopts complaint, stray argument and bad value into one line on stderr and exit
// code 2. Which flags there are, and what makes a value bad, stays with each program.
#pragma once
#include <chrono>
#include <cstdint>
#include <cxxopts.hpp>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace cli {

// A bad flag or value: what() is one line saying which and why.
struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Prints "PROGRAM: WHY (see --help)" on stderr; returns 2, the exit code of bad usage.
int usage(std::string_view program, std::string_view why);

class command_line {
public:
    command_line(std::string program, std::string description);
    const std::string& program() const noexcept { return program_; }
    // The program's flags: add()("name", "meaning", cxxopts::value<T>()->default_value(text))...
    cxxopts::OptionAdder add() { return options_.add_options(); }

    // Every flag may also come from the variable `prefix` + the flag's name in upper case with '-' as '_'
    // (--capture-bytes: SMTP_BLACKHOLE_CAPTURE_BYTES); a flag on the command line wins over its variable. A
    // repeatable flag's variable holds a list split at `,` (or at the flag's own separator, for values that
    // contain commas); a switch's holds true or false (1/0, yes/no). A variable with the prefix that names no
    // flag is an error, except those in `ignored` (a service unit's own variables). A bad value names its
    // variable.
    void environment(std::string prefix, std::vector<std::string> ignored = {});
    void list_separator(const std::string& flag, char separator) { separators_[flag] = separator; }

    // Parses argv and, unless --help or --version was given, calls `read`, which takes the values it needs and
    // throws usage_error for a bad one. Returns the exit code when the program ends here: 0 once the help or
    // the version is printed on stdout, 2 once a usage error is printed on stderr; nothing when it goes on.
    std::optional<int> parse(int argc, const char* const* argv, const std::function<void()>& read);

    bool given(const std::string& flag) const { return result_.count(flag) > 0; }
    // Every value given for `flag`, in the order given and as written (for a repeatable flag whose values hold
    // commas, which a list flag would split).
    std::vector<std::string> every(const std::string& flag) const;
    // The flag's value (its default when not given) as cxxopts converts it.
    template <class T>
    T get(const std::string& flag) const {
        try {
            return result_[flag].as<T>();
        } catch (const cxxopts::exceptions::exception& e) {
            throw usage_error(e.what());
        }
    }
    // The flag's value read by cli/units.hpp; a bad one is a usage_error naming the flag.
    std::uint64_t size(const std::string& flag) const;
    std::chrono::milliseconds duration(const std::string& flag) const;

private:
    // The arguments the environment adds to `argv` (flags argv does not give), each checked alone.
    std::vector<std::string> from_environment(int argc, const char* const* argv);
    // `why` naming the variable when it is about a flag that came from the environment.
    std::string name_variable(std::string why) const;
    // What --help adds about the environment ("" when it is not read).
    std::string environment_help() const;

    std::string program_;
    cxxopts::Options options_;
    cxxopts::ParseResult result_;
    std::string prefix_;                       // "" when the environment is not read
    std::vector<std::string> ignored_;
    std::map<std::string, char> separators_;   // a list flag's separator in its variable, when not ','
    std::map<std::string, std::string> env_;   // flag -> "VARIABLE=value", for the flags it gave
};

}  // namespace cli
