// The properties the --auth-users file fuzzer checks, shared by the libFuzzer target and the replay test: any
// bytes either give users or one clear error naming the file (and the line when a line is wrong); every user
// read is a non-empty name without ':' or a line end, and its password is what followed the first ':' on one of
// its lines. Returns "" or what broke.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

#include "server/auth.hpp"

namespace fuzz {

inline std::string check_users_input(std::string_view bytes) {
    const std::string file = "users.txt";
    std::istringstream in{std::string(bytes)};
    server::users_file users;
    try {
        users = server::parse_users(in, file);
    } catch (const std::runtime_error& e) {
        std::string_view what = e.what();
        if (!what.starts_with("--auth-users " + file) || what.find('\n') != std::string_view::npos)
            return "an unclear error: " + std::string(what);
        return "";
    }
    if (users.empty()) return "no users and no error";
    for (const auto& [user, password] : users) {
        if (user.empty() || user.find_first_of(":\n") != std::string::npos) return "a bad user name: " + user;
        if (password.find('\n') != std::string::npos) return "a password across lines";
        auto line = user + ":" + password;
        auto at = bytes.find(line);
        bool whole_line = false;
        for (; at != std::string_view::npos && !whole_line; at = bytes.find(line, at + 1))
            whole_line = at == 0 || bytes[at - 1] == '\n';
        if (!whole_line) return "a user that is not at the start of a line: " + user;
    }
    return "";
}

}  // namespace fuzz
