// Base64 (RFC 4648 4) for SASL exchanges (RFC 4954 4): strict decoding (padding required, no white space).
#pragma once
#include <string>
#include <string_view>

namespace smtp::base64 {

void encode(std::string_view in, std::string& out);
// False if `in` is not valid base64; `out` holds the decoded bytes otherwise.
bool decode(std::string_view in, std::string& out);

}  // namespace smtp::base64
