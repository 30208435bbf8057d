// The sample viewer page (src/http/page/index.html), compiled into the binary by scripts/embed.py.
#pragma once
#include <string_view>

namespace http::page {
extern const std::string_view index_html;
}
