#include <malloc.h>

/// Bytes glibc's allocator has handed out and not had back: small chunks plus mmapped ones.
static inline size_t fission_heap_bytes_in_use(void) {
    struct mallinfo2 info = mallinfo2();
    return info.uordblks + info.hblkhd;
}
