// Kernel time as the CUDA profiler reports it, for the harnesses (build with -DDG_WITH_CUPTI and link libcupti).
//
// CUDA events around a launch also count the launch itself and the grid's ramp (2-5 us, which matters on the short
// decode calls); DeepGEMM's figures in anchors.md are kernel durations from the PyTorch profiler, i.e. CUPTI activity
// records (GPU timestamps at the kernel's start and end). KernelClock collects the same records, so a harness can
// print both measures and compare like with like. Without DG_WITH_CUPTI it compiles to a clock that never measures.
//
// Use: clock.start(); <enqueue calls>; cudaStreamSynchronize; auto d = clock.stop();  // one entry per kernel, in
// launch order (memsets are not kernels to CUPTI and do not appear).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#ifdef DG_WITH_CUPTI
#include <cupti.h>
#endif

struct KernelRecord {
    uint64_t start_ns, end_ns;
    std::string name;
    double us() const { return (end_ns - start_ns) * 1e-3; }
};

class KernelClock {
  public:
    static bool available() {
#ifdef DG_WITH_CUPTI
        return true;
#else
        return false;
#endif
    }

    void start() {
        records().clear();
#ifdef DG_WITH_CUPTI
        static const bool registered = cuptiActivityRegisterCallbacks(&KernelClock::buffer_requested, &KernelClock::buffer_completed) ==
                                       CUPTI_SUCCESS;
        active_ = registered && cuptiActivityEnable(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL) == CUPTI_SUCCESS;
#endif
    }

    // The kernels enqueued since start() (the caller has synchronised), sorted by start time; empty without CUPTI.
    std::vector<KernelRecord> stop() {
#ifdef DG_WITH_CUPTI
        if (active_) {
            cuptiActivityFlushAll(1);
            cuptiActivityDisable(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL);
            active_ = false;
        }
#endif
        std::vector<KernelRecord> r = records();
        std::sort(r.begin(), r.end(), [](const KernelRecord& a, const KernelRecord& b) { return a.start_ns < b.start_ns; });
        records().clear();
        return r;
    }

    // Per call: the summed kernel time of each call's kernels, when the records split evenly into `calls` runs of
    // launches (a call may launch several kernels, e.g. a library's); empty if they do not.
    static std::vector<double> per_call_us(const std::vector<KernelRecord>& recs, int calls) {
        std::vector<double> t;
        if (calls <= 0 || recs.empty() || recs.size() % calls != 0) return t;
        const size_t per = recs.size() / calls;
        for (int c = 0; c < calls; ++c) {
            double sum = 0;
            for (size_t j = 0; j < per; ++j) sum += recs[c * per + j].us();
            t.push_back(sum);
        }
        return t;
    }

  private:
    bool active_ = false;

    static std::vector<KernelRecord>& records() {
        static std::vector<KernelRecord> v;
        return v;
    }

#ifdef DG_WITH_CUPTI
    static constexpr size_t kBufferBytes = 4 << 20;

    static void CUPTIAPI buffer_requested(uint8_t** buffer, size_t* size, size_t* max_records) {
        *buffer = static_cast<uint8_t*>(aligned_alloc(8, kBufferBytes));
        *size = *buffer ? kBufferBytes : 0;
        *max_records = 0;
    }

    static void CUPTIAPI buffer_completed(CUcontext, uint32_t, uint8_t* buffer, size_t, size_t valid) {
        CUpti_Activity* rec = nullptr;
        while (cuptiActivityGetNextRecord(buffer, valid, &rec) == CUPTI_SUCCESS) {
            if (rec->kind == CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL || rec->kind == CUPTI_ACTIVITY_KIND_KERNEL) {
                const auto* k = reinterpret_cast<const CUpti_ActivityKernel10*>(rec);
                records().push_back({k->start, k->end, k->name ? k->name : ""});
            }
        }
        free(buffer);
    }
#endif
};
