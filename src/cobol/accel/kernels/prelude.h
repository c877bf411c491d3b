/* The thin macro header that lets one kernel source compile as OpenCL C 1.2
 * and as CUDA C++ (NVRTC through CuPy's RawModule).
 *
 * Kernels are written against these names only:
 *   KERNEL        a kernel entry point (extern "C" __global__ / __kernel)
 *   DEVFN         a helper function called from kernels
 *   GLOBAL        address space of a pointer parameter to device memory
 *   LOCAL         a work-group shared array declared in a kernel body
 *   LOCAL_PTR     address space of a pointer parameter to such an array
 *   LID GRP LSIZE NGRP   local id, group id, group size, number of groups
 *   BARRIER()     work-group barrier that also orders global memory
 *   ATOMIC_*      32-bit atomics on global (G) or local (L) memory
 *   CLZ64 POPC32  count leading zeros of a u64 (64 for 0), popcount of a u32
 * and the fixed-width types u8 u32 i32 u64 i64.
 *
 * Rules the kernels follow so that both compilers accept them: no 64-bit
 * atomics (not core OpenCL 1.2), no dynamic local memory (sizes are the
 * compile-time WG_* constants below), no C++ features, no ctz (not in 1.2),
 * no shift by 64 (undefined in both).
 */
#ifdef __OPENCL_VERSION__

typedef uchar u8;
typedef uint u32;
typedef int i32;
typedef ulong u64;
typedef long i64;
#define KERNEL __kernel
#define DEVFN static inline
#define GLOBAL __global
#define LOCAL __local
#define LOCAL_PTR __local
#define LID ((int)get_local_id(0))
#define GRP ((u64)get_group_id(0))
#define LSIZE ((int)get_local_size(0))
#define NGRP ((u64)get_num_groups(0))
#define BARRIER() barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE)
#define ATOMIC_OR_G(p, v) atomic_or((volatile __global u32 *)(p), (u32)(v))
#define ATOMIC_ADD_G(p, v) atomic_add((volatile __global u32 *)(p), (u32)(v))
#define ATOMIC_MIN_G(p, v) atomic_min((volatile __global u32 *)(p), (u32)(v))
#define ATOMIC_ADD_L(p, v) atomic_add((volatile __local u32 *)(p), (u32)(v))
#define CLZ64(x) ((int)clz((u64)(x)))
#define POPC32(x) ((int)popcount((u32)(x)))

#else /* CUDA */

typedef unsigned char u8;
typedef unsigned int u32;
typedef int i32;
typedef unsigned long long u64;
typedef long long i64;
#define KERNEL extern "C" __global__
#define DEVFN static __device__ __forceinline__
#define GLOBAL
#define LOCAL __shared__
#define LOCAL_PTR
#define LID ((int)threadIdx.x)
#define GRP ((u64)blockIdx.x)
#define LSIZE ((int)blockDim.x)
#define NGRP ((u64)gridDim.x)
#define BARRIER() __syncthreads()
#define ATOMIC_OR_G(p, v) atomicOr((unsigned int *)(p), (unsigned int)(v))
#define ATOMIC_ADD_G(p, v) atomicAdd((unsigned int *)(p), (unsigned int)(v))
#define ATOMIC_MIN_G(p, v) atomicMin((unsigned int *)(p), (unsigned int)(v))
#define ATOMIC_ADD_L(p, v) atomicAdd((unsigned int *)(p), (unsigned int)(v))
#define CLZ64(x) (__clzll((long long)(x)))
#define POPC32(x) (__popc((unsigned int)(x)))

#endif

/* Work-group sizes: every kernel is launched with exactly the size its
 * section names (the host reads them from accel/kernels/__init__.py). */
#define WG 256          /* element-parallel kernels and the scan */
#define SCAN_ITEMS 8    /* elements per work-item in a scan tile */
#define SCAN_TILE (WG * SCAN_ITEMS)
#define WG_CHUNK 64     /* one work-group per L3/L4 chunk */

#define U64_MAX (~(u64)0)

DEVFN int bit_length64(u64 x) { return 64 - CLZ64(x); }

DEVFN u64 zigzag64(u64 d) { return (d << 1) ^ ((u64)0 - (d >> 63)); }

DEVFN u64 unzigzag64(u64 z) { return (z >> 1) ^ ((u64)0 - (z & 1)); }

DEVFN u64 umin64(u64 a, u64 b) { return a < b ? a : b; }
DEVFN u64 umax64(u64 a, u64 b) { return a > b ? a : b; }
DEVFN i64 imin64(i64 a, i64 b) { return a < b ? a : b; }
DEVFN i64 imax64(i64 a, i64 b) { return a > b ? a : b; }

/* Bit stream as little-endian u32 words, LSB-first (bit i of the stream is
 * bit i % 8 of byte i / 8); the host pads every word array with 2 zero words
 * so a read of up to 64 bits never runs past the end. */
DEVFN u64 get_bits(GLOBAL const u32 *words, u64 pos, int w)
{
    if (w == 0)
        return 0;
    u64 k = pos >> 5;
    int off = (int)(pos & 31);
    u64 lo = (u64)words[k] | ((u64)words[k + 1] << 32);
    u64 v = lo >> off;
    if (off + w > 64)
        v |= (u64)words[k + 2] << (64 - off);
    return w == 64 ? v : (v & ((((u64)1) << w) - 1));
}

/* OR a value of w bits (v < 2**w) into the stream at bit pos. Atomic: the
 * neighbouring fields of other work-items may share a word. */
DEVFN void put_bits(GLOBAL u32 *words, u64 pos, u64 v, int w)
{
    if (w == 0 || v == 0)
        return;
    u64 k = pos >> 5;
    int off = (int)(pos & 31);
    u64 lo = v << off;
    if ((u32)lo)
        ATOMIC_OR_G(words + k, (u32)lo);
    if ((u32)(lo >> 32))
        ATOMIC_OR_G(words + k + 1, (u32)(lo >> 32));
    if (off && off + w > 64)
        ATOMIC_OR_G(words + k + 2, (u32)(v >> (64 - off)));
}

/* LEB128 length of a value (1..10 bytes). */
DEVFN int varint_len64(u64 v)
{
    int b = bit_length64(v);
    return b == 0 ? 1 : (b + 6) / 7;
}
