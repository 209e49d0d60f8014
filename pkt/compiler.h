/* pkt/compiler.h - the few compiler words the portable pipeline needs, so
 * that pkt/ compiles the same under clang -target bpf and a host compiler. */
#ifndef STRAIT_PKT_COMPILER_H
#define STRAIT_PKT_COMPILER_H

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#ifndef likely
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#endif

/* Rare paths (flow records) as BPF subprograms: their locals get a frame
 * of their own instead of growing the main program's 512-byte stack. */
#ifndef __noinline
#define __noinline __attribute__((noinline))
#endif
#define ST_COLD static __noinline

/* A BPF global function: verified once, on its own, from its argument
 * types (pointer arguments may be NULL and must be checked; they carry no
 * packet pointers). The host build inlines it like the rest. */
#if defined(__bpf__)
#define ST_GLOBAL __noinline
#else
#define ST_GLOBAL static inline
#endif

/* Loops in the pipeline have constant bounds; BPF wants them unrolled. */
#if defined(__clang__)
#define ST_UNROLL _Pragma("unroll")
#else
#define ST_UNROLL _Pragma("GCC unroll 8")
#endif

#define ST_BSWAP16(x) ((__u16)((((__u16)(x) & 0xff) << 8) | ((__u16)(x) >> 8)))
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define st_htons(x) ((__be16)ST_BSWAP16(x))
#define st_ntohs(x) ((__u16)ST_BSWAP16(x))
#else
#define st_htons(x) ((__be16)(x))
#define st_ntohs(x) ((__u16)(x))
#endif

#endif
