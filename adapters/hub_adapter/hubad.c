// hub-adapter: a department's export files in, canonical messages out.
// See `hub-adapter --help` and docs/ADAPTERS.md.
#include "hubad.h"

#include "hub_dir.h"
#include "hub_error.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

volatile sig_atomic_t hubad_stop;

static const char s_help[] =
    "usage: hub-adapter -c CONFIG_DIR -m MAPPING.yaml [options] FILE...\n"
    "       hub-adapter -c CONFIG_DIR -m MAPPING.yaml [options] --watch DIR\n"
    "\n"
    "Reads a department's export files (CSV in UTF-8 or GB18030, or JSON Lines), maps\n"
    "each record to a canonical message as MAPPING.yaml says, validates it and publishes\n"
    "it through a durable outbox. Records that cannot be mapped or are invalid are not\n"
    "published: they go to the rejected-records report. Re-reading a file publishes\n"
    "nothing twice (message ids come from the record's key; the state remembers how far\n"
    "each file was read).\n"
    "\n"
    "Options:\n"
    "  -c, --config DIR   the hub's configuration (hub.yaml: schemas, departments, listen, keys)\n"
    "  -m, --mapping FILE the mapping file (config/adapters/<name>.yaml)\n"
    "  --state DIR        outbox and per-file cursors (default: var/adapter/<mapping name>)\n"
    "  --dry-run          connect to nothing, write no state: print each message as JSON,\n"
    "                     each rejection, then the summary (\"published\" = would publish)\n"
    "  --format json      the summary (and a dry run's rejections) as JSON\n"
    "  --rejected FILE    write the rejected-records report (CSV, UTF-8 with BOM: file,line,\n"
    "                     column,value,reason,message); without it rejections go to stderr\n"
    "  --watch DIR        read the files in DIR matching the mapping's input.pattern as they\n"
    "                     arrive or grow (complete records only), until stopped\n"
    "  --poll-ms N        how often --watch looks (default 1000)\n"
    "  --idle-exit MS     end --watch after MS without new records\n"
    "  --url URL          the hub (default: 'listen' in hub.yaml)\n"
    "  --keys DIR         key directory: hub.pub and <endpoint>.key/.pub (default: hub.yaml's);\n"
    "                     with hub.yaml security: plain, <endpoint>.token (hubctl token)\n"
    "  --retry-ms N       how long an unreachable hub is retried (default 60000)\n"
    "  --batch N          records per outbox transaction (default 4000)\n"
    "  -h, --help         this text\n"
    "\n"
    "Exit status: 0 the run completed (rejected records are not a failure); 1 it could not\n"
    "complete (hub unreachable after retries, I/O error; nothing is lost: run again);\n"
    "2 bad usage, or a broken configuration or mapping file (named at file:line:column).\n"
    "Documentation: docs/ADAPTERS.md.\n";

static int
s_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
s_usage(const char *fmt, ...)
{
    va_list ap;
    fputs("hub-adapter: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(" (see hub-adapter --help)\n", stderr);
    return HUBAD_USAGE;
}

static bool
s_number(const char *name, const char *v, long min, long *out)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < min) {
        s_usage("%s takes a number >= %ld, not '%s'", name, min, v);
        return false;
    }
    *out = n;
    return true;
}

// Stores option NAME's VALUE; false (reported) when it is not one.
static bool
s_option(hubad_opts_t *o, const char *name, const char *v)
{
    long n = 0;
    if (!strcmp(name, "-c") || !strcmp(name, "--config")) {
        o->config_dir = v;
    } else if (!strcmp(name, "-m") || !strcmp(name, "--mapping")) {
        o->mapping = v;
    } else if (!strcmp(name, "--state")) {
        o->state_dir = v;
    } else if (!strcmp(name, "--rejected")) {
        o->rejected = v;
    } else if (!strcmp(name, "--watch")) {
        o->watch_dir = v;
    } else if (!strcmp(name, "--url")) {
        o->url = v;
    } else if (!strcmp(name, "--keys")) {
        o->keys_dir = v;
    } else if (!strcmp(name, "--format")) {
        if (strcmp(v, "json") && strcmp(v, "text")) {
            s_usage("--format takes 'json' or 'text', not '%s'", v);
            return false;
        }
        o->json = !strcmp(v, "json");
    } else if (!strcmp(name, "--poll-ms")) {
        return s_number(name, v, 1, &o->poll_ms);
    } else if (!strcmp(name, "--idle-exit")) {
        return s_number(name, v, 0, &o->idle_exit_ms);
    } else if (!strcmp(name, "--retry-ms")) {
        return s_number(name, v, 0, &o->retry_ms);
    } else if (!strcmp(name, "--batch")) {
        bool ok = s_number(name, v, 1, &n);
        o->batch = (size_t) n;
        return ok;
    } else {
        s_usage("unknown option '%s'", name);
        return false;
    }
    return true;
}

static bool
s_takes_value(const char *a)
{
    static const char *const with[] = {"-c",         "--config",   "-m",        "--mapping",
                                       "--state",    "--rejected", "--watch",   "--url",
                                       "--keys",     "--format",   "--poll-ms", "--idle-exit",
                                       "--retry-ms", "--batch",    NULL};
    for (int i = 0; with[i]; i++) {
        if (!strcmp(a, with[i])) {
            return true;
        }
    }
    return false;
}

// Checks that the options make one run; reports the first thing that does not.
static int
s_check(const hubad_opts_t *o, bool poll_given)
{
    if (!o->config_dir || !o->mapping) {
        return s_usage("-c CONFIG_DIR and -m MAPPING.yaml are required");
    }
    if (!o->watch_dir && o->nfiles == 0) {
        return s_usage("give the files to read, or --watch DIR");
    }
    if (o->watch_dir && o->nfiles) {
        return s_usage("give files or --watch DIR, not both");
    }
    if (!o->watch_dir && (poll_given || o->idle_exit_ms)) {
        return s_usage("--poll-ms and --idle-exit go with --watch");
    }
    if (o->watch_dir && o->dry_run) {
        return s_usage("--dry-run reads files given on the command line, not --watch");
    }
    return HUBAD_OK;
}

// Parses ARGV into O. Returns HUBAD_OK, HUBAD_USAGE, or -1 for --help.
static int
s_parse(int argc, char **argv, hubad_opts_t *o)
{
    *o = (hubad_opts_t){.poll_ms = 1000, .retry_ms = 60000, .batch = 4000};
    o->files = calloc((size_t) argc + 1, sizeof *o->files);
    bool poll_given = false, args_only = false;
    for (int i = 1; o->files && i < argc; i++) {
        char *a = argv[i], *eq = strncmp(a, "--", 2) == 0 ? strchr(a, '=') : NULL;
        if (args_only || a[0] != '-' || !strcmp(a, "-")) {
            o->files[o->nfiles++] = a;
        } else if (!strcmp(a, "--")) {
            args_only = true;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            return -1;
        } else if (!strcmp(a, "--dry-run")) {
            o->dry_run = true;
        } else {
            if (eq) {
                *eq = '\0';
            }
            const char *v = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
            if (!s_takes_value(a) || !v) {
                return v || !s_takes_value(a) ? s_usage("unknown option '%s'", a)
                                              : s_usage("%s needs a value", a);
            }
            poll_given |= !strcmp(a, "--poll-ms");
            if (!s_option(o, a, v)) {
                return HUBAD_USAGE;
            }
        }
    }
    return o->files ? s_check(o, poll_given) : HUBAD_FAILED;
}

// Loads hub.yaml, the schemas, departments.yaml and the mapping; problems
// are printed with their file:line:column.
static int
s_load(hubad_t *ad)
{
    int rc = hub_config_load(&ad->cfg, ad->opts.config_dir, ad->diag);
    rc = rc ? rc : hub_schemas_load(&ad->schemas, ad->cfg.schemas_dir, ad->diag);
    rc = rc ? rc : hub_depts_load(&ad->depts, ad->cfg.departments, ad->schemas, ad->diag);
    rc = rc ? rc : hubc_map_load(&ad->map, ad->opts.mapping, ad->schemas, ad->depts, ad->diag);
    hub_diag_print(ad->diag, stderr); // warnings too
    if (rc) {
        fprintf(stderr, "hub-adapter: %s\n",
                rc == HUB_ENOMEM        ? "out of memory"
                : ad->map || !ad->depts ? "the configuration is broken (see above)"
                                        : "the mapping file is broken (see above)");
    }
    hub_diag_reset(ad->diag);
    return rc;
}

// Where to connect: --url, else hub.yaml's listen address (a wildcard
// host means this machine); the keys: --keys, else hub.yaml's.
static int
s_endpoint(hubad_t *ad)
{
    char *url = hubc_listen_url(ad->opts.url ? ad->opts.url : ad->cfg.listen);
    if (!url) {
        return HUB_ENOMEM;
    }
    snprintf(ad->url, sizeof ad->url, "%s", url);
    free(url);
    ad->keys_dir = strdup(ad->opts.keys_dir ? ad->opts.keys_dir : ad->cfg.keys_dir);
    ad->server_pub = ad->keys_dir ? hub_config_path(ad->keys_dir, "hub.pub") : NULL;
    if (!ad->server_pub) {
        return HUB_ENOMEM;
    }
    if (ad->opts.dry_run) {
        return HUB_OK;
    }
    // Missing or unreadable keys (or token: hub.yaml security: plain) are
    // said now, not after a minute of retries.
    hub_diag_reset(ad->diag);
    hubc_auth_t auth = {ad->cfg.security, ad->server_pub, ad->keys_dir, hubc_map_endpoint(ad->map),
                        NULL};
    int rc = hubc_check_auth(ad->url, &auth, ad->diag);
    if (rc) {
        hub_diag_print(ad->diag, stderr);
        fprintf(stderr, "hub-adapter: the %s of %s %s not usable (see above; --keys DIR)\n",
                auth.security == HUB_SECURITY_PLAIN ? "token" : "keys", auth.name,
                auth.security == HUB_SECURITY_PLAIN ? "is" : "are");
    }
    return rc;
}

// mkdir -p PATH, each directory made durable in its parent (hub_dir.h).
// An intermediate one that cannot be made is left to the last to report.
static bool
s_mkdirs(const char *path)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            bool made = false;
            *p = '\0';
            if (hub_dir_make(buf, 0700, &made) != HUB_OK && made) {
                return false; // made, but its parent could not be synced
            }
            *p = '/';
        }
    }
    return hub_dir_make(buf, 0700, NULL) == HUB_OK;
}

// The outbox in the state directory, and what an earlier run left in it.
static int
s_state(hubad_t *ad)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", ad->opts.state_dir ? ad->opts.state_dir : "var/adapter/");
    if (!ad->opts.state_dir) {
        snprintf(dir, sizeof dir, "var/adapter/%s", hubc_map_name(ad->map));
    }
    if (!s_mkdirs(dir) || hubc_outbox_open(&ad->box, dir, ad->diag) != HUB_OK) {
        hub_diag_print(ad->diag, stderr);
        fprintf(stderr, "hub-adapter: cannot open the state directory %s: %s\n", dir,
                strerror(errno));
        return HUB_EIO;
    }
    return hubad_flush(ad);
}

static void
s_on_signal(int sig)
{
    (void) sig;
    hubad_stop = 1;
}

static void
s_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGXFSZ, SIG_IGN); // a file size limit: EFBIG, said, not a kill
}

static void
s_free(hubad_t *ad)
{
    hubad_disconnect(ad);
    hubc_outbox_destroy(&ad->box);
    if (ad->report) {
        fclose(ad->report);
    }
    hubc_map_destroy(&ad->map);
    hub_depts_destroy(&ad->depts);
    hub_schemas_destroy(&ad->schemas);
    hub_config_free(&ad->cfg);
    hub_msg_destroy(&ad->msg);
    hub_diag_destroy(&ad->diag);
    hub_buf_free(&ad->batch);
    hub_buf_free(&ad->batch_lens);
    free(ad->seen);
    free(ad->keys_dir);
    free(ad->server_pub);
    free(ad->opts.files);
}

// Everything after loading: the state, the files or the watch, the summary.
static int
s_run(hubad_t *ad)
{
    if (ad->opts.rejected && hubad_report_open(ad) != HUB_OK) {
        fprintf(stderr, "hub-adapter: cannot write %s: %s\n", ad->opts.rejected, strerror(errno));
        return HUBAD_FAILED;
    }
    if (s_endpoint(ad) != HUB_OK || (!ad->opts.dry_run && s_state(ad) != HUB_OK)) {
        return HUBAD_FAILED;
    }
    s_signals();
    if (ad->opts.watch_dir) {
        hubad_watch(ad);
    }
    for (int i = 0; i < ad->opts.nfiles && !ad->hub_lost && !hubad_stop; i++) {
        uint64_t read;
        hubad_file(ad, ad->opts.files[i], true, &read);
    }
    if (ad->opts.dry_run) {
        fprintf(stderr, "hub-adapter: dry run: nothing was sent, no state was written\n");
    }
    if (ad->report && (fflush(ad->report) != 0 || ferror(ad->report))) {
        fprintf(stderr, "hub-adapter: cannot write %s\n", ad->opts.rejected);
        ad->failed = true;
    }
    hubad_summary(ad);
    bool interrupted = hubad_stop && !ad->opts.watch_dir;
    if (interrupted) {
        fprintf(stderr, "hub-adapter: interrupted: run again to go on where it stopped\n");
    }
    return ad->failed || interrupted ? HUBAD_FAILED : HUBAD_OK;
}

int
main(int argc, char **argv)
{
    hubad_t ad;
    memset(&ad, 0, sizeof ad);
    int rc = s_parse(argc, argv, &ad.opts);
    if (rc) {
        if (rc < 0) {
            fputs(s_help, stdout);
        }
        free(ad.opts.files);
        return rc < 0 ? HUBAD_OK : rc;
    }
    ad.diag = hub_diag_new();
    ad.msg = hub_msg_new();
    if (!ad.diag || !ad.msg) {
        fprintf(stderr, "hub-adapter: out of memory\n");
        s_free(&ad);
        return HUBAD_FAILED;
    }
    rc = s_load(&ad) ? HUBAD_USAGE : s_run(&ad);
    s_free(&ad);
    return rc;
}
