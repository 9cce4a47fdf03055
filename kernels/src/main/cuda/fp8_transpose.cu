// fp8_transpose.cu: dst[b, c, r] = src[b, r, c] for a batch of byte matrices (FP8 E4M3 or raw bytes) with any row
// and batch strides. Behind the K-grouped "tn" GEMM on Hopper: WGMMA reads FP8 operands K-major only, so token rows
// [ΣK, MN] become K-major [MN, ΣK] first. Source and destination must not overlap.
//
// One CTA moves a 128 × 128-byte tile at a time through 16 KB of shared memory. Load: 16-byte reads along src rows
// (a warp reads 4 rows × 128 B). Store: each thread gathers one 4-byte word column of 16 consecutive tile rows,
// transposes those 16 × 4 bytes in registers (__byte_perm) and writes 16 bytes into each of 4 dst rows (a warp
// writes 4 × 4 rows × 128 B). Word w of tile row r sits at word column w ^ 4·((r / 16) % 8), which keeps both
// phases free of bank conflicts. Partial tiles and operands whose addresses or strides are not multiples of 16
// bytes take byte-wise loads and stores where the 16-byte ones would not fit.
//
// Baked: DG_KERNEL_NAME, DG_THREADS (32, 64, 128 or 256).
//
// Parameters (exact order; strides in bytes, which are elements here):
//   const u8* src      element (b, r, c) at src[b·src_sb + r·src_sr + c]
//   i64       src_sb, src_sr
//   u8*       dst      element (b, c, r) at dst[b·dst_sb + c·dst_sr + r]
//   i64       dst_sb, dst_sr
//   i64       batch, rows, cols   src is [batch, rows, cols], dst [batch, cols, rows]
// Launch: grid (any x ≥ 1; the CTAs stride over the batch·ceil(rows/128)·ceil(cols/128) tiles), block
// (DG_THREADS, 1, 1), no dynamic shared memory (16 KB static).
#include "common.cuh"

#ifndef DG_THREADS
#error "DG_THREADS must be baked in"
#endif
#if DG_THREADS % 32 != 0 || 256 % DG_THREADS != 0
#error "DG_THREADS must be 32, 64, 128 or 256"
#endif

#define DG_TILE 128                  // rows and columns (bytes) of a tile
#define DG_TILE_WORDS (DG_TILE / 4)  // 4-byte words per tile row
#define DG_CHUNKS (DG_TILE / 16)     // 16-byte chunks per tile row (and per dst row of a tile)

// The word column that holds word w of tile row r: rows 16 apart land on different banks (see the header).
DG_D int dg_tile_word(int r, int w) { return r * DG_TILE_WORDS + (w ^ (((r >> 4) & 7) << 2)); }

extern "C" __global__ void __launch_bounds__(DG_THREADS, 1) DG_KERNEL_NAME(
        const u8* src, i64 src_sb, i64 src_sr,
        u8* dst, i64 dst_sb, i64 dst_sr,
        i64 batch, i64 rows, i64 cols) {
    __shared__ __align__(16) u32 tile[DG_TILE * DG_TILE_WORDS];
    // One uniform test for the whole launch: every 16-byte access below starts at a multiple of 16 from a base.
    const bool aligned = (((u64) src | (u64) dst | (u64) src_sb | (u64) src_sr | (u64) dst_sb | (u64) dst_sr)
            & 15u) == 0;
    const i64 row_tiles = dg_ceil_div(rows, DG_TILE);
    const i64 col_tiles = dg_ceil_div(cols, DG_TILE);
    const i64 tiles = batch * row_tiles * col_tiles;
    for (i64 t = blockIdx.x; t < tiles; t += gridDim.x) {
        const i64 b = t / (row_tiles * col_tiles);
        const i64 r0 = t / col_tiles % row_tiles * DG_TILE;
        const i64 c0 = t % col_tiles * DG_TILE;
        const u8* s = src + b * src_sb + r0 * src_sr + c0;
        u8* d = dst + b * dst_sb + c0 * dst_sr + r0;
        const int n_rows = (int) dg_min64(rows - r0, DG_TILE);
        const int n_cols = (int) dg_min64(cols - c0, DG_TILE);

        // Load: chunk ch of tile row r; bytes outside the matrix read as 0 (never stored).
        for (int e = threadIdx.x; e < DG_TILE * DG_CHUNKS; e += DG_THREADS) {
            const int r = e / DG_CHUNKS;
            const int ch = e % DG_CHUNKS;
            uint4 v = make_uint4(0u, 0u, 0u, 0u);
            if (r < n_rows) {
                const u8* p = s + r * src_sr + ch * 16;
                if (aligned && ch * 16 + 16 <= n_cols) {
                    v = *reinterpret_cast<const uint4*>(p);
                } else {
                    u32 w[4] = {0u, 0u, 0u, 0u};
#pragma unroll
                    for (int i = 0; i < 16; i++) {
                        if (ch * 16 + i < n_cols) {
                            w[i >> 2] |= (u32) p[i] << (8 * (i & 3));
                        }
                    }
                    v = make_uint4(w[0], w[1], w[2], w[3]);
                }
            }
            *reinterpret_cast<uint4*>(&tile[dg_tile_word(r, 4 * ch)]) = v;
        }
        __syncthreads();

        // Store: task (q, w) writes bytes 16q..16q+15 of dst rows 4w..4w+3 (tile-relative). Consecutive lanes take
        // consecutive q, so each store instruction of a warp covers 128 contiguous bytes of 4 dst rows.
        for (int task = threadIdx.x; task < DG_TILE_WORDS * DG_CHUNKS; task += DG_THREADS) {
            const int q = task % DG_CHUNKS;
            const int w = task / DG_CHUNKS;
            if (4 * w >= n_cols || 16 * q >= n_rows) {
                continue;
            }
            u32 x[16];  // x[i] byte j = tile[16q + i][4w + j]
#pragma unroll
            for (int i = 0; i < 16; i++) {
                x[i] = tile[dg_tile_word(16 * q + i, w)];
            }
            u32 out[4][4];  // out[j][o] byte k = tile[16q + 4o + k][4w + j]: a 4 × 4 byte transpose per o
#pragma unroll
            for (int o = 0; o < 4; o++) {
                const u32 lo01 = __byte_perm(x[4 * o], x[4 * o + 1], 0x5140);      // x0.b0 x1.b0 x0.b1 x1.b1
                const u32 lo23 = __byte_perm(x[4 * o + 2], x[4 * o + 3], 0x5140);  // x2.b0 x3.b0 x2.b1 x3.b1
                const u32 hi01 = __byte_perm(x[4 * o], x[4 * o + 1], 0x7362);      // x0.b2 x1.b2 x0.b3 x1.b3
                const u32 hi23 = __byte_perm(x[4 * o + 2], x[4 * o + 3], 0x7362);  // x2.b2 x3.b2 x2.b3 x3.b3
                out[0][o] = __byte_perm(lo01, lo23, 0x5410);
                out[1][o] = __byte_perm(lo01, lo23, 0x7632);
                out[2][o] = __byte_perm(hi01, hi23, 0x5410);
                out[3][o] = __byte_perm(hi01, hi23, 0x7632);
            }
#pragma unroll
            for (int j = 0; j < 4; j++) {
                const int c = 4 * w + j;
                if (c >= n_cols) {
                    break;
                }
                u8* p = d + c * dst_sr + 16 * q;
                if (aligned && 16 * q + 16 <= n_rows) {
                    *reinterpret_cast<uint4*>(p) = make_uint4(out[j][0], out[j][1], out[j][2], out[j][3]);
                } else {
#pragma unroll
                    for (int i = 0; i < 16; i++) {
                        if (16 * q + i < n_rows) {
                            p[i] = (u8) (out[j][i >> 2] >> (8 * (i & 3)));
                        }
                    }
                }
            }
        }
        __syncthreads();  // the next tile's loads overwrite what this one's stores read
    }
}
