// Parsing a program's command line and ending it early on --help, --version or bad usage. See command_line.hpp.
#include "cli/command_line.hpp"

#include <algorithm>
#include <cstdio>
#include <cctype>
#include <cstdlib>

#include "cli/units.hpp"

#ifndef SMTP_BLACKHOLE_VERSION
#define SMTP_BLACKHOLE_VERSION "unknown"
#endif

extern char** environ;

namespace cli {
namespace {

char upper(char c) { return c >= 'a' && c <= 'z' ? char(c - 'a' + 'A') : c; }
char lower(char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) { return lower(x) == lower(y); });
}

// The flag a variable's name stands for: lower case, '_' as '-'.
std::string flag_of(std::string_view name) {
    std::string f(name);
    for (auto& c : f) c = c == '_' ? '-' : lower(c);
    return f;
}

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

// The variable that sets `flag`: the prefix, then the flag in upper case with '-' as '_'.
std::string variable(const std::string& prefix, const std::string& flag) {
    std::string v = prefix + flag;
    for (auto i = prefix.size(); i < v.size(); ++i) v[i] = v[i] == '-' ? '_' : upper(v[i]);
    return v;
}

// A switch's value in a variable; throws for anything but true/false, 1/0, yes/no, on/off.
bool switch_value(const std::string& var, const std::string& value) {
    for (std::string_view t : {"true", "1", "yes", "on"})
        if (iequals(value, t)) return true;
    for (std::string_view f : {"false", "0", "no", "off", ""})
        if (iequals(value, f)) return false;
    throw usage_error(var + "=" + value + ": a switch takes true or false");
}

// `text` split at `sep`, empty items dropped.
std::vector<std::string> split(const std::string& text, char sep) {
    std::vector<std::string> out;
    for (std::size_t at = 0; at <= text.size();) {
        auto end = std::min(text.find(sep, at), text.size());
        if (end > at) out.push_back(text.substr(at, end - at));
        at = end + 1;
    }
    return out;
}

}  // namespace

int usage(std::string_view program, std::string_view why) {
    std::fprintf(stderr, "%.*s: %.*s (see --help)\n", int(program.size()), program.data(), int(why.size()),
                 why.data());
    return 2;
}

command_line::command_line(std::string program, std::string description)
    : program_(std::move(program)), options_(program_, std::move(description)) {}

void command_line::environment(std::string prefix, std::vector<std::string> ignored) {
    prefix_ = std::move(prefix);
    ignored_ = std::move(ignored);
}

std::vector<std::string> command_line::from_environment(int argc, const char* const* argv) {
    std::vector<std::string> args;
    if (prefix_.empty()) return args;
    auto on_command_line = options_.parse(argc, argv);
    std::vector<std::string> known;
    for (const auto& group : options_.groups())
        for (const auto& o : options_.group_help(group).options) {
            const std::string& flag = o.l.front();
            if (flag == "help" || flag == "version") continue;
            const auto var = variable(prefix_, flag);
            known.push_back(var);
            const char* value = std::getenv(var.c_str());
            if (!value || on_command_line.count(flag) > 0) continue;
            const std::string text = value;
            std::vector<std::string> mine;
            if (o.is_boolean) {
                if (switch_value(var, text)) mine.push_back("--" + flag);
            } else if (o.is_container || separators_.count(flag)) {
                auto sep = separators_.count(flag) ? separators_.at(flag) : ',';
                for (const auto& item : split(text, sep)) mine.push_back("--" + flag + "=" + item);
            } else {
                mine.push_back("--" + flag + "=" + text);
            }
            // Each variable checked alone, so that cxxopts' complaint (a number that is not one) is its own.
            std::vector<const char*> one{argv[0]};
            for (const auto& a : mine) one.push_back(a.c_str());
            try {
                (void)options_.parse(static_cast<int>(one.size()), one.data());
            } catch (const cxxopts::exceptions::exception& e) {
                throw usage_error(var + "=" + text + ": " + e.what());
            }
            env_[flag] = var + "=" + text;
            args.insert(args.end(), mine.begin(), mine.end());
        }
    for (char** e = environ; e && *e; ++e) {
        std::string_view entry(*e);
        auto name = entry.substr(0, entry.find('='));
        if (!name.starts_with(prefix_)) continue;
        auto is = [&](const std::string& v) { return v == name; };
        if (std::none_of(known.begin(), known.end(), is) && std::none_of(ignored_.begin(), ignored_.end(), is))
            throw usage_error(std::string(name) + " names no flag (there is no --" +
                              flag_of(name.substr(prefix_.size())) + ")");
    }
    return args;
}

std::string command_line::name_variable(std::string why) const {
    for (const auto& [flag, setting] : env_) {
        const auto mention = "--" + flag;
        for (auto at = why.find(mention); at != std::string::npos; at = why.find(mention, at + 1)) {
            const auto after = at + mention.size();
            const bool word = after < why.size() && (std::isalnum(static_cast<unsigned char>(why[after])) ||
                                                     why[after] == '-');
            if (!word)
                return setting + ": " + why;
        }
    }
    return why;
}

std::optional<int> command_line::parse(int argc, const char* const* argv, const std::function<void()>& read) {
    add()("h,help", "print this help and exit")("version", "print the version and exit");  // last in the help
    try {
        auto extra = from_environment(argc, argv);
        std::vector<const char*> all(argv, argv + argc);
        for (const auto& a : extra) all.push_back(a.c_str());
        result_ = options_.parse(static_cast<int>(all.size()), all.data());
        if (!result_.unmatched().empty())
            throw usage_error("unexpected argument '" + result_.unmatched().front() + "'");
        if (given("help")) return print(options_.help() + environment_help());
        if (given("version")) return print(program_ + " " SMTP_BLACKHOLE_VERSION "\n");
        read();
    } catch (const cxxopts::exceptions::exception& e) {
        return usage(program_, e.what());
    } catch (const usage_error& e) {
        return usage(program_, name_variable(e.what()));
    }
    return std::nullopt;
}

std::string command_line::environment_help() const {
    if (prefix_.empty()) return {};
    std::string list;
    for (const auto& [flag, sep] : separators_) list += ", " + variable(prefix_, flag) + " at '" + sep + "'";
    return "\nEvery flag can also be set in the environment as " + prefix_ + "<FLAG>, upper case with '-' as '_'\n(" +
           variable(prefix_, "capture-bytes") + "=16M is --capture-bytes 16M); a flag on the command line wins.\n" +
           "A repeatable flag's variable is a list split at ','" + list + "; a switch's is true or false.\n";
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
