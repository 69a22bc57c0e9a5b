// hub_store_cache: drop-behind. The pages the store wrote more than
// DROP_BEHIND bytes before the end of its data file, and that nobody has
// read since, are handed back by the page cache (posix_fadvise
// POSIX_FADV_DONTNEED over the stretch the file grew by), so the memory
// for the next pages comes from those instead of from memory the kernel has
// not used yet (docs/STORE.md "Drop-behind"). A commit only notes where the
// file ends now; hub_store_drop_behind(), called when the caller likes
// (hubd: its main thread, after the acks are out), does the dropping, in
// steps of a sixteenth of DROP_BEHIND (at most 4 MB): the call costs
// ~0.2-0.3 ms, which must not sit between a commit and its acks.
//
// Why: a store that grows needs page-cache memory for every page it adds.
// On a virtual machine that returns free memory to its host (virtio-balloon
// free page reporting, as on the 2-core reference machine) that memory
// costs a host fault at its first touch: bench_pages measures ~10-15 µs
// per 4 KB page once the page cache grows past what the kernel had just
// freed, against ~1-3.5 µs while it recycles pages. At ~0.9 new pages per
// ingested message that was most of the writer thread's time. PostgreSQL
// drops its written WAL pages in the same way; Redpanda bypasses the page
// cache altogether.
//
// What is dropped: only clean pages no process maps. LMDB reads through
// its map, so every page a reader or the writer has looked at since it was
// written (branch pages, the leaves a put descends to, queue records
// delivered) stays; what goes is what nobody has read: full leaves of the
// log and the audit trail, and queue records of a consumer more than
// DROP_BEHIND behind. Those are read back from the disk when wanted, as
// they are anyway once the store is larger than memory. Nothing is lost:
// the pages are on the disk (the commit synced them) before they are
// dropped. Only the stretch written since the handle was opened is ever
// touched, and a freed page LMDB reuses inside a stretch already passed is
// left to the kernel.
#include "hub_store_int.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#define S_STEP_MAX ((uint64_t) 4 << 20)

// The end of the pages in use, in bytes (the last committed meta's).
static uint64_t
s_used_end(const hub_store_t *self)
{
    MDB_envinfo info;
    if (mdb_env_info(self->env, &info) != 0) {
        return 0;
    }
    return ((uint64_t) info.me_last_pgno + 1) * self->cache.psize;
}

void
hub_store_cache_open(hub_store_t *self, const char *path)
{
    self->cache.behind = 0; // off until hub_store_set_drop_behind()
    MDB_stat st;
    char file[4096];
    if (mdb_env_stat(self->env, &st) != 0 ||
        snprintf(file, sizeof file, "%s/data.mdb", path) >= (int) sizeof file) {
        return;
    }
    self->cache.psize = st.ms_psize;
    // A descriptor of our own: advice given on it changes nothing of LMDB's.
    self->cache.fd = open(file, O_RDONLY | O_CLOEXEC);
    self->cache.done = s_used_end(self); // only what this handle writes
    atomic_store(&self->cache.used, self->cache.done);
}

void
hub_store_cache_close(hub_store_t *self)
{
    if (self->cache.fd >= 0) {
        close(self->cache.fd);
    }
    self->cache.fd = -1;
}

void
hub_store_cache_note(hub_store_t *self)
{
    // Off (the default): no work on the commit path. BEHIND changes only
    // with the writer drained (hub_store_set_drop_behind()), so this
    // thread reads it safely; turned on later, the next commit notes.
    if (self->cache.fd >= 0 && self->cache.behind) {
        atomic_store(&self->cache.used, s_used_end(self));
    }
}

void
hub_store_drop_behind(hub_store_t *self)
{
    uint64_t used = atomic_load(&self->cache.used);
    uint64_t behind = self->cache.behind;
    if (self->cache.fd < 0 || !behind || used <= behind) {
        return;
    }
    uint64_t to = used - behind;
    uint64_t step = behind / 16 < S_STEP_MAX ? behind / 16 : S_STEP_MAX;
    if (to >= self->cache.done + step && to > self->cache.done) {
        // A hint: when the kernel cannot, nothing is wrong, only slower.
        posix_fadvise(self->cache.fd, (off_t) self->cache.done, (off_t) (to - self->cache.done),
                      POSIX_FADV_DONTNEED);
        self->cache.done = to;
    }
}

void
hub_store_set_drop_behind(hub_store_t *self, size_t behind)
{
    self->cache.behind = behind;
}
