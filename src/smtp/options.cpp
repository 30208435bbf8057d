// Extension names and the compiled profile (EHLO reply, RFC 5321 4.1.1.1 and each extension's RFC).
#include "smtp/options.hpp"

#include <vector>

#include "smtp/ascii.hpp"

namespace smtp {
namespace {
constexpr std::string_view names[] = {"pipelining", "size", "8bitmime", "smtputf8", "enhancedstatuscodes",
                                      "chunking", "dsn", "starttls", "auth"};
static_assert(std::size(names) == std::size_t(extension::count_));
}  // namespace

std::string_view extension_name(extension e) noexcept { return names[std::size_t(e)]; }

bool extension_from_name(std::string_view name, extension& out) noexcept {
    for (std::size_t i = 0; i < std::size(names); ++i)
        if (ascii::iequals(name, names[i])) {
            out = extension(i);
            return true;
        }
    return false;
}

profile::profile(const options& o)
    : opts_(o), book_(reply_style{o.hostname, o.enabled(extension::enhanced_status_codes)}),
      ehlo_(build_ehlo(false)), ehlo_tls_(build_ehlo(true)) {}

std::string profile::build_ehlo(bool tls) const {
    const auto& o = opts_;
    std::string size_line = "SIZE " + std::to_string(o.max_message_size);
    std::vector<std::string_view> lines{opts_.hostname};
    if (o.enabled(extension::pipelining)) lines.push_back("PIPELINING");
    if (o.enabled(extension::size)) lines.push_back(size_line);
    if (o.enabled(extension::eight_bit_mime)) lines.push_back("8BITMIME");
    if (o.enabled(extension::smtputf8)) lines.push_back("SMTPUTF8");
    if (o.enabled(extension::enhanced_status_codes)) lines.push_back("ENHANCEDSTATUSCODES");
    if (o.enabled(extension::chunking)) {
        lines.push_back("CHUNKING");
        if (o.enabled(extension::eight_bit_mime)) lines.push_back("BINARYMIME");
    }
    if (o.enabled(extension::dsn)) lines.push_back("DSN");
    if (starttls_offered(tls)) lines.push_back("STARTTLS");
    if (auth_offered(tls)) lines.push_back("AUTH PLAIN LOGIN CRAM-MD5");
    return reply_book::multiline(250, "", lines.data(), lines.size());
}

}  // namespace smtp
