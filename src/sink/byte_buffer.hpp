// A growable byte buffer whose capacity is exactly what it was asked for (malloc/realloc: no hidden doubling),
// so that the memory captures hold can be counted against --capture-bytes; shrinking it to its size when the
// message is complete moves no bytes in practice (realloc shrinks in place). Move-only.
#pragma once
#include <cstddef>
#include <string_view>

namespace sink {

class byte_buffer {
public:
    byte_buffer() noexcept = default;
    explicit byte_buffer(std::string_view s);  // a copy of s, capacity s.size(); throws std::bad_alloc
    byte_buffer(byte_buffer&& o) noexcept;
    byte_buffer& operator=(byte_buffer&& o) noexcept;
    byte_buffer(const byte_buffer&) = delete;
    byte_buffer& operator=(const byte_buffer&) = delete;
    ~byte_buffer() { release(); }

    // Sets the capacity to exactly `cap` (at least size()); false, and nothing changed, when out of memory.
    bool reserve(std::size_t cap) noexcept;
    // Appends s; s.size() must fit in capacity() - size().
    void append(std::string_view s) noexcept;
    void shrink_to_fit() noexcept { reserve(size_); }
    // Frees the memory; size and capacity become 0.
    void release() noexcept;

    std::size_t size() const noexcept { return size_; }
    std::size_t capacity() const noexcept { return cap_; }
    std::string_view view() const noexcept { return {data_, size_}; }
    operator std::string_view() const noexcept { return view(); }
    friend bool operator==(const byte_buffer& a, std::string_view b) noexcept { return a.view() == b; }

private:
    char* data_ = nullptr;
    std::size_t size_ = 0, cap_ = 0;
};

}  // namespace sink
