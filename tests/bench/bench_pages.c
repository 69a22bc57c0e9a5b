// Benchmark of the machine under the store, no hub code: what a 4 KB page
// costs the way LMDB writes a commit (runs of neighbouring pages with
// writev(), lone pages with pwrite(), then fdatasync()), on the
// filesystem of the temporary directory ($HUB_BENCH_DIR, default /tmp).
// docs/STORE.md "Performance" explains why these numbers matter: a
// store that grows needs new page-cache memory for every page it adds,
// and on a virtual machine that hands free memory back to its host
// (virtio-balloon free page reporting) the first touch of that memory is
// what costs, not the disk. One line per measurement, µs per page:
//   new memory      writev of 64-page runs extending a new file (the page
//                   cache grows: memory the kernel had free)
//   recycled memory the same, just after the file was truncated (the
//                   page cache takes back memory it has just given up)
//   cached          the same pages written again in place
//   scattered       one page at a time at random offsets of the cached file
//   sync sequential / sync scattered   fdatasync() after 512 such pages
#include "bench_util.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define S_PAGE 4096
#define S_RUN 64                 // pages per writev, as LMDB's MDB_COMMIT_PAGES
#define S_PAGES (64 * 256)       // 64 MB
#define S_NEW_PAGES (1024 * 256) // 1 GB: more than the kernel has just freed
#define S_SYNC_PAGES 512

static uint8_t s_src[S_RUN * S_PAGE];

// Writes pages [0, N) in runs of S_RUN; µs per page, or -1.
static double
s_runs(int fd, size_t n)
{
    struct iovec iov[S_RUN];
    for (int i = 0; i < S_RUN; i++) {
        iov[i] = (struct iovec){s_src + (size_t) i * S_PAGE, S_PAGE};
    }
    double t0 = bench_now();
    for (size_t p = 0; p < n; p += S_RUN) {
        if (lseek(fd, (off_t) (p * S_PAGE), SEEK_SET) < 0 ||
            writev(fd, iov, S_RUN) != (ssize_t) sizeof s_src) {
            return -1;
        }
    }
    return (bench_now() - t0) * 1e6 / (double) n;
}

// N lone pages at offsets from NEXT (random, or one after another); µs per
// page for the writes and, in *SYNC, for the fdatasync after them.
static double
s_pages(int fd, size_t n, bool scattered, double *sync)
{
    uint64_t x = 88172645463325252ull;
    double t0 = bench_now();
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t p = scattered ? (size_t) (x % S_PAGES) : i;
        if (pwrite(fd, s_src, S_PAGE, (off_t) (p * S_PAGE)) != S_PAGE) {
            return -1;
        }
    }
    double t1 = bench_now();
    if (sync && fdatasync(fd) != 0) {
        return -1;
    }
    if (sync) {
        *sync = (bench_now() - t1) * 1e6 / (double) n;
    }
    return (t1 - t0) * 1e6 / (double) n;
}

static void
s_line(const char *what, double us)
{
    printf("bench pages: %-58s %7.2f us/page\n", what, us);
}

int
main(void)
{
    const char *base = getenv("HUB_BENCH_DIR");
    char path[512];
    snprintf(path, sizeof path, "%s/hub-bench-pages-XXXXXX", base && *base ? base : "/tmp");
    memset(s_src, 0x5a, sizeof s_src);
    int fd = mkstemp(path);
    if (fd < 0) {
        fprintf(stderr, "bench pages: cannot create a file in %s\n", base ? base : "/tmp");
        return 1;
    }
    unlink(path);
    double fresh = s_runs(fd, S_NEW_PAGES);
    int rc = fresh < 0 || fdatasync(fd) != 0 || ftruncate(fd, 0) != 0;
    double recycled = rc ? -1 : s_runs(fd, S_PAGES);
    double cached = recycled < 0 ? -1 : s_runs(fd, S_PAGES);
    double seq_sync = 0, scat_sync = 0;
    double ok = cached < 0 || fdatasync(fd) != 0 ? -1 : s_pages(fd, S_SYNC_PAGES, false, &seq_sync);
    double scattered = ok < 0 ? -1 : s_pages(fd, S_PAGES / 4, true, NULL);
    ok = scattered < 0 || fdatasync(fd) != 0 ? -1 : s_pages(fd, S_SYNC_PAGES, true, &scat_sync);
    close(fd);
    if (ok < 0) {
        fprintf(stderr, "bench pages: a write or sync failed in %s\n", base ? base : "/tmp");
        return 1;
    }
    s_line("writev 64-page runs, new memory (the page cache grows)", fresh);
    s_line("writev 64-page runs, recycled memory (just truncated)", recycled);
    s_line("writev 64-page runs, cached pages rewritten in place", cached);
    s_line("pwrite single pages at scattered offsets, cached", scattered);
    s_line("fdatasync after 512 sequential pages", seq_sync);
    s_line("fdatasync after 512 scattered pages", scat_sync);
    return 0;
}
