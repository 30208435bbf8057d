// The exactly-sized capture buffer. See byte_buffer.hpp.
#include "sink/byte_buffer.hpp"

#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

namespace sink {

byte_buffer::byte_buffer(std::string_view s) {
    if (!reserve(s.size())) throw std::bad_alloc();
    append(s);
}

byte_buffer::byte_buffer(byte_buffer&& o) noexcept
    : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)), cap_(std::exchange(o.cap_, 0)) {}

byte_buffer& byte_buffer::operator=(byte_buffer&& o) noexcept {
    if (this != &o) {
        release();
        data_ = std::exchange(o.data_, nullptr);
        size_ = std::exchange(o.size_, 0);
        cap_ = std::exchange(o.cap_, 0);
    }
    return *this;
}

bool byte_buffer::reserve(std::size_t cap) noexcept {
    if (cap < size_) cap = size_;
    if (cap == cap_) return true;
    if (cap == 0) {
        release();
        return true;
    }
    auto* p = static_cast<char*>(std::realloc(data_, cap));
    if (!p) return false;
    data_ = p;
    cap_ = cap;
    return true;
}

void byte_buffer::append(std::string_view s) noexcept {
    if (s.empty()) return;
    std::memcpy(data_ + size_, s.data(), s.size());
    size_ += s.size();
}

void byte_buffer::release() noexcept {
    std::free(data_);
    data_ = nullptr;
    size_ = cap_ = 0;
}

}  // namespace sink
