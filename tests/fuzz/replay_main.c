// replay_main: runs a libFuzzer target over its corpus without libFuzzer, so
// `make test` (gcc, no sanitizer runtime needed) replays every seed and every
// fuzz finding kept as a regression input (STYLE.md: "A fuzz crash becomes a
// corpus file that `make test` replays").
//
//   build/fuzz/replay_codec tests/fuzz/corpus/codec [more dirs or files]
//
// Directory entries are replayed in name order, so runs are reproducible.
// Each input runs in a child process: a crash (abort, SIGSEGV, a sanitizer
// report) is counted against that file and the rest still run, so one
// summary names every failing input. REPLAY_NO_FORK=1 runs everything in
// this process instead (for a debugger); the first crash then ends the run.
// Exit status: 0 when every input passed, 1 when any failed, 2 when an
// argument is missing, unreadable or an empty directory.
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    char target[64]; // "fuzz_codec", for messages
    bool fork_each;  // run each input in a child process
    size_t inputs;   // inputs replayed
    size_t failures; // inputs that failed
} s_run_t;

// "build/fuzz/replay_codec" -> "fuzz_codec".
static void
s_target_name(s_run_t *run, const char *argv0)
{
    const char *base = strrchr(argv0, '/');
    base = base ? base + 1 : argv0;
    if (strncmp(base, "replay_", 7) == 0) {
        snprintf(run->target, sizeof run->target, "fuzz_%s", base + 7);
    } else {
        snprintf(run->target, sizeof run->target, "%s", base);
    }
}

// Reads the whole file at PATH into a malloc'd buffer (never NULL on
// success, even when empty). Returns 0, or -1 with errno set.
static int
s_read_file(const char *path, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        return -1;
    }
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) {
            break;
        }
        uint8_t *bigger = cap > SIZE_MAX / 2 ? NULL : realloc(buf, cap * 2);
        if (!bigger) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    int err = !buf ? ENOMEM : ferror(f) ? EIO : 0;
    fclose(f);
    if (err) {
        free(buf);
        errno = err;
        return -1;
    }
    *out = buf;
    *len = n;
    return 0;
}

// Runs the target on DATA; 0 when it passed. libFuzzer reserves return
// values other than 0 and -1 (-1: "do not add to the corpus").
static int
s_run_one(const uint8_t *data, size_t len)
{
    int rc = LLVMFuzzerTestOneInput(data, len);
    return rc == 0 || rc == -1 ? 0 : 1;
}

static void
s_describe_status(int status, char *buf, size_t size)
{
    if (WIFEXITED(status)) {
        snprintf(buf, size, "exit status %d", WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
        snprintf(buf, size, "killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    } else {
        snprintf(buf, size, "wait status %d", status);
    }
}

// Replays one file, in a child process unless RUN says otherwise.
static void
s_replay_file(s_run_t *run, const char *path)
{
    uint8_t *data;
    size_t len;
    run->inputs++;
    if (s_read_file(path, &data, &len) != 0) {
        fprintf(stderr, "%s: %s: cannot read: %s\n", run->target, path, strerror(errno));
        run->failures++;
        return;
    }
    char why[96] = "";
    if (!run->fork_each) {
        if (s_run_one(data, len) != 0) {
            snprintf(why, sizeof why, "LLVMFuzzerTestOneInput returned a reserved value");
        }
    } else {
        fflush(NULL); // the child must not flush our buffered output twice
        pid_t pid = fork();
        if (pid == 0) {
            // exit(), not _exit(): sanitizers' leak checks run at exit.
            exit(s_run_one(data, len));
        }
        int status = 0;
        if (pid < 0) {
            snprintf(why, sizeof why, "fork failed: %s", strerror(errno));
        } else if (waitpid(pid, &status, 0) < 0) {
            snprintf(why, sizeof why, "waitpid failed: %s", strerror(errno));
        } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            s_describe_status(status, why, sizeof why);
        }
    }
    free(data);
    if (why[0]) {
        fprintf(stderr, "%s: FAILED %s (%zu bytes): %s\n", run->target, path, len, why);
        run->failures++;
    }
}

static int
s_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

static void
s_free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(names[i]);
    }
    free(names);
}

// The sorted paths of the regular files in DIR (not hidden ones, which
// editors and libFuzzer's lock files leave); *N gets their count.
// Returns NULL when DIR cannot be read (then errno says why).
static char **
s_list_dir(const char *dir, size_t *n)
{
    DIR *d = opendir(dir);
    if (!d) {
        return NULL;
    }
    char **names = NULL;
    size_t cap = 0;
    struct dirent *e;
    bool oom = false;
    *n = 0;
    while (!oom && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;
        }
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        char *path = malloc(len);
        struct stat st;
        if (path) {
            snprintf(path, len, "%s/%s", dir, e->d_name);
        }
        if (path && (stat(path, &st) != 0 || !S_ISREG(st.st_mode))) {
            free(path);
            continue;
        }
        if (path && *n == cap) {
            char **more = realloc(names, (cap ? cap * 2 : 64) * sizeof *more);
            if (more) {
                names = more;
                cap = cap ? cap * 2 : 64;
            }
        }
        oom = !path || *n == cap;
        if (oom) {
            free(path);
        } else {
            names[(*n)++] = path;
        }
    }
    closedir(d);
    if (oom) {
        s_free_names(names, *n);
        errno = ENOMEM;
        return NULL;
    }
    if (*n > 1) {
        qsort(names, *n, sizeof *names, s_name_cmp);
    }
    return names ? names : calloc(1, sizeof *names);
}

// Replays ARG, a directory (every regular file in it) or one file.
// Returns 0, or 2 when ARG is missing, unreadable or an empty directory.
static int
s_replay_arg(s_run_t *run, const char *arg)
{
    struct stat st;
    if (stat(arg, &st) != 0) {
        fprintf(stderr, "%s: %s: %s\n", run->target, arg, strerror(errno));
        return 2;
    }
    if (!S_ISDIR(st.st_mode)) {
        s_replay_file(run, arg);
        return 0;
    }
    size_t n = 0;
    char **names = s_list_dir(arg, &n);
    if (!names) {
        fprintf(stderr, "%s: %s: cannot list: %s\n", run->target, arg, strerror(errno));
        return 2;
    }
    if (n == 0) {
        fprintf(stderr, "%s: %s: no inputs (an empty corpus tests nothing)\n", run->target, arg);
        free(names);
        return 2;
    }
    for (size_t i = 0; i < n; i++) {
        s_replay_file(run, names[i]);
    }
    s_free_names(names, n);
    return 0;
}

int
main(int argc, char **argv)
{
    s_run_t run = {.fork_each = true};
    s_target_name(&run, argc > 0 ? argv[0] : "replay");
    const char *nofork = getenv("REPLAY_NO_FORK");
    run.fork_each = !(nofork && nofork[0] && strcmp(nofork, "0") != 0);
    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
        return 2;
    }
    // Warm up once in this process: targets keep lazily loaded state (the
    // schema set) in statics, which the children then inherit.
    static const uint8_t empty[1] = {0};
    if (run.fork_each) {
        s_run_one(empty, 0);
    }
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        int r = s_replay_arg(&run, argv[i]);
        rc = rc ? rc : r;
    }
    printf("%s: replayed %zu inputs, %zu failures\n", run.target, run.inputs, run.failures);
    if (rc) {
        return rc;
    }
    return run.failures ? 1 : 0;
}
