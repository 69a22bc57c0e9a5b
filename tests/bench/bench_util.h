// Helpers shared by the benchmarks (header only: each bench is one file).
#ifndef HUB_BENCH_UTIL_H
#define HUB_BENCH_UTIL_H

#include "hub_diag.h"
#include "hub_json.h"
#include "hub_msg.h"

#include <stdio.h>
#include <time.h>

// Seconds on the monotonic clock.
static inline double
bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

// Reads the JSON message in PATH (up to 64 KiB) into MSG. Returns
// hub_json_to_msg()'s code (an unreadable file: a parse error, said in
// DIAG, which may be NULL). Not thread-safe (one static buffer).
static inline int
bench_load_msg(hub_msg_t *msg, const char *path, hub_diag_t *diag)
{
    static char text[65536];
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(text, 1, sizeof text, f) : 0;
    if (f) {
        fclose(f);
    }
    return hub_json_to_msg(msg, text, n, NULL, diag);
}

#endif
