// common.cuh: fixed-width types and bit-exact number codecs shared by every deepgemm4j kernel.
//
// NVRTC ships no headers, so nothing here includes anything. The codecs are __host__ __device__ so the CI
// compiles them into a host program as well and checks them against the Java codecs (Fp8E4M3, Bf16, Ue8m0)
// over every FP8 code and many floats: the kernels and the CPU reference must round identically.
#pragma once

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef int i32;
typedef long long i64;
typedef unsigned long long u64;

#define DG_HD __host__ __device__ __forceinline__
#define DG_D __device__ __forceinline__

#define DG_NEG_INF_BITS 0xff800000u
#define DG_NAN_BITS 0x7fc00000u

DG_HD u32 dg_float_bits(float x) {
#ifdef __CUDA_ARCH__
    return __float_as_uint(x);
#else
    u32 b;
    __builtin_memcpy(&b, &x, 4);
    return b;
#endif
}

DG_HD float dg_bits_float(u32 b) {
#ifdef __CUDA_ARCH__
    return __uint_as_float(b);
#else
    float x;
    __builtin_memcpy(&x, &b, 4);
    return x;
#endif
}

DG_HD float dg_neg_inf() { return dg_bits_float(DG_NEG_INF_BITS); }
DG_HD float dg_nan() { return dg_bits_float(DG_NAN_BITS); }

DG_HD i64 dg_ceil_div(i64 a, i64 b) { return (a + b - 1) / b; }
DG_HD int dg_min(int a, int b) { return a < b ? a : b; }
DG_HD int dg_max(int a, int b) { return a > b ? a : b; }
DG_HD i64 dg_min64(i64 a, i64 b) { return a < b ? a : b; }
DG_HD i64 dg_max64(i64 a, i64 b) { return a > b ? a : b; }

// FP8 E4M3 ("fn": bias 7, no infinities, S.1111.111 is NaN) to float; exact.
DG_HD float dg_fp8_to_float(u32 code) {
    u32 sign = (code & 0x80u) << 24;
    u32 exp = (code >> 3) & 0xFu;
    u32 man = code & 7u;
    if (exp == 15u && man == 7u) {
        return dg_bits_float(sign | DG_NAN_BITS);
    }
    if (exp == 0u) {
        // Subnormal: man · 2^-9, exact in float; the sign is applied on the bits so -0 stays -0.
        return dg_bits_float(sign | dg_float_bits((float) man * 0.001953125f));
    }
    return dg_bits_float(sign | ((exp + 120u) << 23) | (man << 20));
}

// Round-to-nearest-even of a float in [0, 8] to an integer, without math library calls.
DG_HD u32 dg_rint_small(float v) {
#ifdef __CUDA_ARCH__
    return (u32) __float2uint_rn(v);
#else
    return (u32) __builtin_rintf(v);
#endif
}

// Float to FP8 E4M3: round to nearest even, subnormals kept, saturate to ±448 (infinities too), NaN -> 0x7F|sign.
// Bit-identical to dev.deepgemm4j.Fp8E4M3.fromFloat.
DG_HD u8 dg_float_to_fp8(float x) {
    u32 bits = dg_float_bits(x);
    u32 sign = (bits >> 24) & 0x80u;
    u32 abits = bits & 0x7fffffffu;
    if (abits > 0x7f800000u) {
        return (u8) (sign | 0x7fu);
    }
    float a = dg_bits_float(abits);
    u32 code;
    if (a < 0.015625f) {
        // Below the smallest normal 2^-6 the code is the number of 2^-9 steps (8 steps = code 0x08).
        code = dg_rint_small(a * 512.0f);
    } else if (a >= 448.0f) {
        code = 0x7eu;
    } else {
        u32 exp = (abits >> 23) - 120u;
        u32 mant = abits & 0x7fffffu;
        u32 m3 = mant >> 20;
        u32 rem = mant & 0xfffffu;
        if (rem > 0x80000u || (rem == 0x80000u && (m3 & 1u) != 0u)) {
            m3++;
        }
        if (m3 == 8u) {
            m3 = 0u;
            exp++;
        }
        code = (exp << 3) | m3;
        if (code > 0x7eu) {
            code = 0x7eu;
        }
    }
    return (u8) (sign | code);
}

// Float to bfloat16 bits: round to nearest even; NaN keeps sign and top payload with the quiet bit forced.
// Bit-identical to dev.deepgemm4j.Bf16.fromFloat.
DG_HD u16 dg_float_to_bf16(float x) {
    u32 bits = dg_float_bits(x);
    if ((bits & 0x7fffffffu) > 0x7f800000u) {
        return (u16) ((bits >> 16) | 0x40u);
    }
    return (u16) ((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}

DG_HD float dg_bf16_to_float(u32 bits) { return dg_bits_float((bits & 0xffffu) << 16); }

// Rounds a positive scale up to a power of two (exponent + 1 if any mantissa bit is set, clamped to [1, 254]).
// Bit-identical to dev.deepgemm4j.Ue8m0.ceilToPowerOfTwo.
DG_HD float dg_ceil_to_ue8m0(float scale) {
    u32 bits = dg_float_bits(scale);
    int exp = (int) ((bits >> 23) & 0xffu);
    if ((bits & 0x7fffffu) != 0u) {
        exp++;
    }
    exp = exp < 1 ? 1 : (exp > 254 ? 254 : exp);
    return dg_bits_float((u32) exp << 23);
}

// The value 2^(e-127) of a UE8M0 byte; byte 0 is 2^-127 (a float subnormal). Same as Ue8m0.decode.
DG_HD float dg_ue8m0_to_float(u32 e) {
    e &= 0xffu;
    return e == 0u ? dg_bits_float(0x00400000u) : dg_bits_float(e << 23);
}
