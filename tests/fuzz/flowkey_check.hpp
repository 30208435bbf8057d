// The properties the flow-key fuzzer checks, shared by the libFuzzer target and the replay test: a header
// section and an envelope of any bytes, named by each kind of extractor (--flow-key), give a flow name that is
// "_default" or the extractor's value sanitised as README "Flows" promises (at most max_flow_name octets of
// 0x21..0x7e without '"' or '\'); the header reader's values are unfolded and trimmed, and header_value agrees
// with header_fields. Returns "" or what broke.
#pragma once
#include <array>
#include <string>
#include <string_view>

#include "sink/flow_key.hpp"
#include "sink/header.hpp"
#include "smtp/ascii.hpp"

namespace fuzz {

// The extractors tried on every input, one at a time and as a list.
inline constexpr std::array<std::string_view, 10> flow_specs = {
    "header:X-Flow", "header:Subject", "rcpt-tag", "rcpt-domain", "mail-from", "mail-from-domain", "helo",
    "auth-user", "none", "header:X-Flow,rcpt-tag,mail-from-domain,helo"};

inline std::string check_flow_name(std::string_view name) {
    if (name.empty() || name.size() > sink::max_flow_name) return "a flow name of " + std::to_string(name.size()) + " octets";
    for (char c : name) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x21 || u > 0x7e || c == '"' || c == '\\') return "an unsanitised flow name: " + std::string(name);
    }
    return "";
}

// What is wrong with the header reader's view of `header`, or "".
inline std::string check_header_reader(std::string_view header) {
    auto fields = sink::header_fields(header);
    std::string scratch;
    for (const auto& f : fields) {
        if (f.name.empty() && f.value.empty()) continue;
        if (f.value.find_first_of("\r\n") != std::string::npos) return "a value with a line end: " + f.name;
        if (smtp::ascii::trim(f.value) != f.value) return "an untrimmed value: " + f.name;
        if (f.name.find(':') != std::string::npos) return "a name with a colon: " + f.name;
    }
    for (std::string_view name : {"X-Flow", "subject"}) {
        const sink::header_field* first = nullptr;
        for (const auto& f : fields)
            if (!first && smtp::ascii::iequals(f.name, name)) first = &f;
        if (sink::header_value(header, name, scratch) != (first ? std::string_view(first->value) : ""))
            return "header_value and header_fields disagree about " + std::string(name);
    }
    return "";
}

// The input is the header section, HELO name, sender, recipient and AUTH user, separated by NUL bytes.
inline std::string check_flowkey_input(std::string_view data) {
    std::array<std::string_view, 5> part{};
    for (std::size_t i = 0; i < part.size() && !data.empty(); ++i) {
        auto nul = data.find('\0');
        part[i] = data.substr(0, nul);
        data = nul == std::string_view::npos ? std::string_view() : data.substr(nul + 1);
    }
    auto [header, helo, from, rcpt, user] = part;
    if (auto p = check_header_reader(header); !p.empty()) return p;
    smtp::envelope env;
    env.set_session(helo, user, "");
    env.set_mail_from(from);
    if (!rcpt.empty()) env.add_recipient({env.keep(rcpt), {}, 0});
    std::string out, scratch, expected;
    for (auto spec : flow_specs) {
        auto key = sink::flow_key::parse(spec);
        key.name({&env, helo, header, user}, out, scratch);
        if (auto p = check_flow_name(out); !p.empty()) return p + " (" + std::string(spec) + ")";
        if (!spec.starts_with("header:") || spec.find(',') != std::string_view::npos) continue;
        expected = sink::header_value(header, spec.substr(7), scratch);
        sink::sanitise_flow_name(expected);
        if (out != (expected.empty() ? sink::default_flow : expected)) return "the flow is not the header's value";
    }
    return "";
}

}  // namespace fuzz
