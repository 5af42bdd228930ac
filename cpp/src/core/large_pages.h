// An allocator for big, randomly accessed arrays (replay tables, sum trees). Internal.
//
// Random access over tens of megabytes misses the TLB on nearly every touch with 4 KiB pages (a
// million-item table spans thousands of pages, more than the TLB holds). Arrays of at least
// kLargePageMin bytes are therefore 2 MiB-aligned and advised as transparent huge pages
// (MADV_HUGEPAGE: the kernel then backs them with 2 MiB pages where it can; where THP is off this
// is a no-op). Smaller arrays are only cache-line aligned, so that tree groups of 64 bytes never
// straddle two lines.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <new>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace mlforge::detail {

inline constexpr std::size_t kLargePage = std::size_t{2} << 20;
inline constexpr std::size_t kLargePageMin = std::size_t{4} << 20;
inline constexpr std::size_t kCacheLine = 64;

template <class T>
struct LargePageAllocator {
  using value_type = T;
  LargePageAllocator() = default;
  template <class U>
  LargePageAllocator(const LargePageAllocator<U>&) noexcept {}

  T* allocate(std::size_t n) {
    if (n > static_cast<std::size_t>(-1) / sizeof(T)) throw std::bad_array_new_length();
    const std::size_t bytes = n * sizeof(T);
    const std::size_t alignment = bytes >= kLargePageMin ? kLargePage : kCacheLine;
    const std::size_t rounded = (bytes + alignment - 1) / alignment * alignment;
    void* p = std::aligned_alloc(alignment, rounded == 0 ? alignment : rounded);
    if (p == nullptr) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (alignment == kLargePage) madvise(p, rounded, MADV_HUGEPAGE);  // advice only: failure changes nothing
#endif
    return static_cast<T*>(p);
  }
  void deallocate(T* p, std::size_t) noexcept { std::free(p); }

  friend bool operator==(const LargePageAllocator&, const LargePageAllocator&) { return true; }
};

template <class T>
using LargeVector = std::vector<T, LargePageAllocator<T>>;

}  // namespace mlforge::detail
