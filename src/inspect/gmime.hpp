// The GMime 3 plumbing of src/inspect/ (internal): owners for GObjects and g_malloc'd strings, the one
// g_mime_init, parsing a message from bytes in memory, and a part's content decoded (transfer encoding, and for
// text its charset to UTF-8 through GMime's converters). GObjects are never shared between threads here.
#pragma once
#include <gmime/gmime.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace inspect::gm {

struct object_unref {
    void operator()(gpointer p) const noexcept { g_object_unref(p); }
};
// An owned reference to a GObject (GMimeMessage, GMimeStream...).
template <class T>
using object = std::unique_ptr<T, object_unref>;

struct string_free {
    void operator()(gchar* p) const noexcept { g_free(p); }
};
// A string GMime or GLib allocated for us.
using string = std::unique_ptr<gchar, string_free>;

// GMime's global set-up, done once for the process (g_mime_init is not thread-safe itself).
void init();

// `raw` parsed as a message (a copy of it is held by the message's streams); null only when GMime finds no
// message at all.
object<GMimeMessage> parse_message(std::string_view raw);

// The text of a C string GMime returns, "" for null.
inline std::string_view text(const char* s) { return s ? std::string_view(s) : std::string_view(); }

// ASCII lower case of a MIME token (type, charset, disposition).
std::string lower(std::string_view s);

// The octets of a leaf part once its transfer encoding is undone; for a message/rfc822 part the message it holds.
std::string content_bytes(GMimeObject* part);
// How many octets content_bytes would give, without keeping them.
std::uint64_t content_size(GMimeObject* part);
// A text part's content as UTF-8 with LF line ends: converted from its declared charset, or (no charset, an
// unknown one) by GMime's guess among its fallback charsets (UTF-8, then ISO-8859-1).
std::string content_utf8(GMimePart* part);

}  // namespace inspect::gm
