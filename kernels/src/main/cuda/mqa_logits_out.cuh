// mqa_logits_out.cuh: the element type of the logits the SIMT MQA kernels and the clean passes write, chosen by the
// baked DG_LOGITS_BF16: 0 (the default) FP32, 1 bfloat16 bits. A BF16 logit is the FP32 logit rounded once to
// nearest even by common.cuh's software codec, which is bit-identical to the CPU reference's (Bf16.fromFloat, NaN
// payloads included), so these kernels keep matching it bit for bit; the codec also runs below sm_80, where
// cvt.rn.bf16.f32 does not exist.
#pragma once
#include "common.cuh"

#ifndef DG_LOGITS_BF16
#define DG_LOGITS_BF16 0
#endif

#if DG_LOGITS_BF16
typedef u16 dg_logit_t;
// −inf in each half of a 32-bit word.
#define DG_LOGIT_NEG_INF_WORD 0xff80ff80u
DG_D dg_logit_t dg_to_logit(float x) { return dg_float_to_bf16(x); }
DG_D dg_logit_t dg_logit_neg_inf() { return (u16) 0xff80u; }
#else
typedef float dg_logit_t;
#define DG_LOGIT_NEG_INF_WORD DG_NEG_INF_BITS
DG_D dg_logit_t dg_to_logit(float x) { return x; }
DG_D dg_logit_t dg_logit_neg_inf() { return dg_neg_inf(); }
#endif
