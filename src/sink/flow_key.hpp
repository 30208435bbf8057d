// Naming the flow of a message: an ordered list of extractors (--flow-key); the first that yields a value
// wins, else the flow is "_default". Names are sanitised so they are safe in JSON, URLs and Prometheus labels.
// Header fields are read per RFC 5322 2.2 (case-insensitive names, unfolding).
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "smtp/envelope.hpp"

namespace sink {

inline constexpr std::string_view default_flow = "_default";
inline constexpr std::string_view overflow_flow = "_overflow";
inline constexpr std::size_t max_flow_name = 128;

// What a flow key can look at.
struct message_facts {
    const smtp::envelope* env = nullptr;
    std::string_view helo;
    std::string_view header;  // the header section, possibly empty
    std::string_view auth_user;
};

class flow_key {
public:
    // Parses "header:X-Flow,rcpt-tag", or "none" (everything under _default); throws std::invalid_argument with a one-line reason.
    static flow_key parse(std::string_view spec);
    // Puts the sanitised flow name in `out` (whose capacity is reused): "_default" when nothing matched.
    void name(const message_facts& m, std::string& out, std::string& scratch) const;
    // Whether an extractor reads the header (then the flow is known only once the header section is).
    bool uses_header() const noexcept;

private:
    enum class kind { header, rcpt_tag, rcpt_domain, mail_from, mail_from_domain, helo, auth_user };
    struct extractor {
        kind k;
        std::string header_name;
    };
    std::vector<extractor> ex_;
    bool none_ = false;
};

// Cuts `s` to max_flow_name bytes and replaces every byte outside 0x21..0x7e, and '"' and '\', with '_'.
void sanitise_flow_name(std::string& s);

}  // namespace sink
