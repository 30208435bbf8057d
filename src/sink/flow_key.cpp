// Flow key extractors. See flow_key.hpp.
#include "sink/flow_key.hpp"

#include <stdexcept>

#include "sink/header.hpp"
#include "smtp/ascii.hpp"

namespace sink {
namespace {

namespace ascii = smtp::ascii;

std::string_view domain_of(std::string_view address) {
    auto at = address.rfind('@');
    return at == std::string_view::npos ? std::string_view{} : address.substr(at + 1);
}

// local+TAG@domain -> TAG
std::string_view tag_of(std::string_view address) {
    auto local = address.substr(0, address.rfind('@'));
    auto plus = local.find('+');
    return plus == std::string_view::npos ? std::string_view{} : local.substr(plus + 1);
}

void assign_lower(std::string& out, std::string_view s) {
    out.assign(s);
    ascii::to_lower(out);
}

}  // namespace

flow_key flow_key::parse(std::string_view spec) {
    flow_key k;
    // "none": no flows, every message counts under _default, nothing is extracted
    if (ascii::trim<ascii::is_space>(spec) == "none") {
        k.none_ = true;
        return k;
    }
    while (!spec.empty()) {
        auto comma = spec.find(',');
        auto item = ascii::trim<ascii::is_space>(spec.substr(0, comma));
        spec = comma == std::string_view::npos ? std::string_view{} : spec.substr(comma + 1);
        if (item.rfind("header:", 0) == 0) {
            auto name = ascii::trim<ascii::is_space>(item.substr(7));
            if (name.empty() || name.find_first_of(": \t") != std::string_view::npos)
                throw std::invalid_argument("--flow-key: bad header name in '" + std::string(item) + "'");
            k.ex_.push_back({kind::header, std::string(name)});
        } else if (item == "rcpt-tag") {
            k.ex_.push_back({kind::rcpt_tag, {}});
        } else if (item == "rcpt-domain") {
            k.ex_.push_back({kind::rcpt_domain, {}});
        } else if (item == "mail-from") {
            k.ex_.push_back({kind::mail_from, {}});
        } else if (item == "mail-from-domain") {
            k.ex_.push_back({kind::mail_from_domain, {}});
        } else if (item == "helo") {
            k.ex_.push_back({kind::helo, {}});
        } else if (item == "auth-user") {
            k.ex_.push_back({kind::auth_user, {}});
        } else {
            throw std::invalid_argument("--flow-key: unknown extractor '" + std::string(item) +
                                        "' (use header:NAME, rcpt-tag, rcpt-domain, mail-from, "
                                        "mail-from-domain, helo, auth-user)");
        }
    }
    if (k.ex_.empty()) throw std::invalid_argument("--flow-key: empty list");
    return k;
}

bool flow_key::uses_header() const noexcept {
    for (const auto& e : ex_)
        if (e.k == kind::header) return true;
    return false;
}

void flow_key::name(const message_facts& m, std::string& out, std::string& scratch) const {
    if (none_) {
        out.assign(default_flow);
        return;
    }
    for (const auto& e : ex_) {
        std::string_view first_rcpt = m.env && m.env->recipient_count() ? m.env->recipient_address(0) : "";
        std::string_view from = m.env ? m.env->mail_from() : "";
        switch (e.k) {
        case kind::header: out.assign(header_value(m.header, e.header_name, scratch)); break;
        case kind::rcpt_tag: out.assign(tag_of(first_rcpt)); break;
        case kind::rcpt_domain: assign_lower(out, domain_of(first_rcpt)); break;
        case kind::mail_from: out.assign(from); break;
        case kind::mail_from_domain: assign_lower(out, domain_of(from)); break;
        case kind::helo: out.assign(m.helo); break;
        case kind::auth_user: out.assign(m.auth_user); break;
        }
        if (!out.empty()) {
            sanitise_flow_name(out);
            return;
        }
    }
    out.assign(default_flow);
}

void sanitise_flow_name(std::string& s) {
    if (s.size() > max_flow_name) s.resize(max_flow_name);
    for (auto& c : s) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x21 || u > 0x7e || c == '"' || c == '\\') c = '_';
    }
}

}  // namespace sink
