// --watch DIR: every poll, the files matching the mapping's pattern that
// are new or changed (size, time, inode) are read from their cursors.
// Only complete records are read: a line still being written waits for
// its line end. The cursors are in the outbox, so a restart after kill -9
// goes on exactly where the last committed batch ended.
#include "hubad.h"

#include <dirent.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

// What a file looked like when it was last read.
typedef struct {
    char name[NAME_MAX + 1];
    uint64_t dev, ino, size;
    int64_t mtime_ns;
} s_seen_t;

typedef struct {
    s_seen_t *files;
    size_t n, cap;
} s_table_t;

static int
s_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

// The names in DIR matching PATTERN, sorted; *N their count. NULL (with
// *N 0) when the directory cannot be read.
static char **
s_list(const char *dir, const char *pattern, size_t *n)
{
    DIR *d = opendir(dir);
    char **names = NULL;
    size_t cap = 0;
    *n = 0;
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.' || fnmatch(pattern, e->d_name, 0) != 0) {
            continue;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 32;
            char **more = realloc(names, cap * sizeof *more);
            if (!more) {
                break;
            }
            names = more;
        }
        names[*n] = strdup(e->d_name);
        *n += names[*n] != NULL;
    }
    if (d) {
        closedir(d);
    }
    if (*n > 1) {
        qsort(names, *n, sizeof *names, s_name_cmp);
    }
    return names;
}

// True when NAME (now ST) is new or changed since it was last read; then
// remembers it as it is now.
static bool
s_changed(s_table_t *t, const char *name, const struct stat *st)
{
    int64_t mtime = (int64_t) st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
    s_seen_t *f = NULL;
    for (size_t i = 0; i < t->n && !f; i++) {
        f = strcmp(t->files[i].name, name) == 0 ? &t->files[i] : NULL;
    }
    if (!f) {
        if (t->n == t->cap) {
            size_t cap = t->cap ? t->cap * 2 : 32;
            s_seen_t *more = realloc(t->files, cap * sizeof *more);
            if (!more) {
                return true;
            }
            t->files = more;
            t->cap = cap;
        }
        f = &t->files[t->n++];
        memset(f, 0, sizeof *f);
        snprintf(f->name, sizeof f->name, "%s", name);
    } else if (f->dev == (uint64_t) st->st_dev && f->ino == (uint64_t) st->st_ino &&
               f->size == (uint64_t) st->st_size && f->mtime_ns == mtime) {
        return false;
    }
    f->dev = (uint64_t) st->st_dev;
    f->ino = (uint64_t) st->st_ino;
    f->size = (uint64_t) st->st_size;
    f->mtime_ns = mtime;
    return true;
}

// One look at the directory; the number of records read.
static uint64_t
s_poll(hubad_t *ad, s_table_t *t)
{
    size_t n = 0;
    uint64_t total = 0;
    char **names = s_list(ad->opts.watch_dir, hubc_map_input(ad->map)->pattern, &n);
    for (size_t i = 0; i < n; i++) {
        char path[PATH_MAX];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", ad->opts.watch_dir, names[i]);
        if (!hubad_stop && !ad->hub_lost && stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
            s_changed(t, names[i], &st)) {
            uint64_t read = 0;
            hubad_file(ad, path, false, &read);
            total += read;
        }
        free(names[i]);
    }
    free(names);
    return total;
}

void
hubad_watch(hubad_t *ad)
{
    s_table_t t = {0};
    int64_t last = hubc_mono_ms();
    while (!hubad_stop && !ad->hub_lost) {
        if (s_poll(ad, &t) > 0) {
            last = hubc_mono_ms();
        }
        if (ad->opts.idle_exit_ms > 0 && hubc_mono_ms() - last >= ad->opts.idle_exit_ms) {
            break;
        }
        struct timespec ts = {(time_t) (ad->opts.poll_ms / 1000),
                              (long) (ad->opts.poll_ms % 1000) * 1000000};
        nanosleep(&ts, NULL);
    }
    free(t.files);
}
