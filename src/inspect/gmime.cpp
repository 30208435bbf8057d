// The GMime 3 plumbing of src/inspect/. See gmime.hpp. GMime's rule for threads: GObjects are not thread-safe,
// so each call parses its own copy and nothing parsed outlives the call; its shared tables (charset map, iconv
// cache, default parser options) are set up once by g_mime_init and locked or read-only afterwards.
#include "inspect/gmime.hpp"

#include <mutex>

namespace inspect::gm {
namespace {

// The octets written to a memory stream.
std::string bytes_of(GMimeStream* mem) {
    GByteArray* a = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
    if (!a || a->len == 0) return {};
    return std::string(reinterpret_cast<const char*>(a->data), a->len);
}

struct format_options_free {
    void operator()(GMimeFormatOptions* o) const noexcept { g_mime_format_options_free(o); }
};

// Writes what a leaf part holds, its transfer encoding undone (a message/rfc822 part: the message, written by
// GMime with CRLF line ends as SMTP carried it; GMime's default would be LF).
void write_content(GMimeObject* part, GMimeStream* to) {
    if (GMIME_IS_MESSAGE_PART(part)) {
        std::unique_ptr<GMimeFormatOptions, format_options_free> crlf(g_mime_format_options_new());
        g_mime_format_options_set_newline_format(crlf.get(), GMIME_NEWLINE_FORMAT_DOS);
        if (GMimeMessage* m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(part)))
            g_mime_object_write_to_stream(GMIME_OBJECT(m), crlf.get(), to);
    } else if (GMIME_IS_PART(part)) {
        if (GMimeDataWrapper* w = g_mime_part_get_content(GMIME_PART(part))) g_mime_data_wrapper_write_to_stream(w, to);
    }
}

}  // namespace

void init() {
    static std::once_flag once;
    std::call_once(once, [] { g_mime_init(); });
}

object<GMimeMessage> parse_message(std::string_view raw) {
    init();
    object<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(raw.empty() ? "" : raw.data(), raw.size()));
    object<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
    g_mime_parser_set_format(parser.get(), GMIME_FORMAT_MESSAGE);
    return object<GMimeMessage>(g_mime_parser_construct_message(parser.get(), nullptr));
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = g_ascii_tolower(c);
    return out;
}

std::string content_bytes(GMimeObject* part) {
    object<GMimeStream> mem(g_mime_stream_mem_new());
    write_content(part, mem.get());
    return bytes_of(mem.get());
}

std::uint64_t content_size(GMimeObject* part) {
    object<GMimeStream> null(g_mime_stream_null_new());
    write_content(part, null.get());
    return GMIME_STREAM_NULL(null.get())->written;
}

std::string content_utf8(GMimePart* part) {
    const char* charset = g_mime_object_get_content_type_parameter(GMIME_OBJECT(part), "charset");
    object<GMimeFilter> convert(charset ? g_mime_filter_charset_new(charset, "UTF-8") : nullptr);
    object<GMimeFilter> lf(g_mime_filter_dos2unix_new(FALSE));
    object<GMimeStream> mem(g_mime_stream_mem_new());
    {
        object<GMimeStream> filtered(g_mime_stream_filter_new(mem.get()));
        if (convert) g_mime_stream_filter_add(GMIME_STREAM_FILTER(filtered.get()), convert.get());
        g_mime_stream_filter_add(GMIME_STREAM_FILTER(filtered.get()), lf.get());
        write_content(GMIME_OBJECT(part), filtered.get());
        g_mime_stream_flush(filtered.get());
    }
    std::string text = bytes_of(mem.get());
    if (convert || g_utf8_validate_len(text.data(), text.size(), nullptr)) return text;
    string guessed(g_mime_utils_decode_8bit(nullptr, text.data(), text.size()));
    return std::string(gm::text(guessed.get()));
}

}  // namespace inspect::gm
