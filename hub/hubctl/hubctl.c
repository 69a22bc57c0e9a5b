// hubctl: the command line of the hub. See `hubctl --help`.
#include "hubctl.h"
#include "hubctl_audit.h"
#include "hubctl_ops.h"

#include "hub_codec.h"
#include "hub_config.h"
#include "hub_error.h"
#include "hub_json.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char s_help[] =
    "usage: hubctl COMMAND [options]\n"
    "\n"
    "Commands:\n"
    "  check [--config DIR]          load and check the configuration: schemas, code tables,\n"
    "                                departments and rules (the law included)\n"
    "  rules test --message FILE     dry run: the endpoints a message reaches, under which\n"
    "      [--explain]               rules, with exactly what each receives (and why not)\n"
    "      [--listed LIST=KEY]...    ... with KEY a member of list LIST (docs/RULES.md Lists)\n"
    "  rules test --suite DIR        run the YAML rule tests in DIR (config/tests)\n"
    "  keygen NAME [--dir DIR]       a CURVE keypair: DIR/NAME.pub and DIR/NAME.key (mode 600)\n"
    "  keygen --hash-key FILE        create the hub's keyed-hash secret (mode 600)\n"
    "  keygen --sign-key FILE        the Ed25519 key signing audit checkpoints: FILE (mode 600)\n"
    "                                and FILE.pub\n"
    "  token ENDPOINT [-c DIR]       the endpoint's PLAIN token, for hub.yaml security: plain\n"
    "                                (loopback only): KEYS/ENDPOINT.token (mode 600); needs the\n"
    "                                hub's secret key. -c DIR is --config DIR\n"
    "  msg validate FILE...          validate messages (JSON or msgpack) against their schemas\n"
    "      [--normalize] [--print]   rewrite values into canonical form; print the message\n"
    "  msg encode [FILE|-] [-o OUT]  JSON message to canonical msgpack\n"
    "  msg decode [FILE|-]           msgpack message to JSON\n"
    "  status                        hubd, rule set, ingest, dead letters, store, and per\n"
    "                                endpoint queue depth, oldest unacked, consumers\n"
    "  dlq list|show|retry|drop      dead letters: list (filters), show one, retry, drop\n"
    "  cursor show|rewind            endpoint cursors; replay: rewind --endpoint E --to SEQ|TIME\n"
    "  reload                        hubd loads the configuration again (refused if broken)\n"
    "  store reissue-id              a new store id after a restore (hubd stopped)\n"
    "  rules history                 the rule-set versions: when, how, by whom\n"
    "  rules diff V1 V2              what changed between two rule-set versions\n"
    "                                (these seven: COMMAND --help for their options)\n"
    "  audit query|report|verify|export   who received whose data, when and why; a subject's\n"
    "                                report (zh/en, text/HTML); verify the hash chain and signed\n"
    "                                checkpoints; an evidence bundle (audit COMMAND --help)\n"
    "\n"
    "Options:\n"
    "  --config DIR     configuration directory (default: $HUB_CONFIG, else ./config)\n"
    "  --schemas DIR    schema directory (default: 'schemas' in DIR/hub.yaml); without\n"
    "                   --config, check loads only the schemas and code tables\n"
    "  --format json    machine-readable output\n"
    "  -h, --help       this text\n"
    "\n"
    "Exit status: 0 valid / success, 1 invalid input or failure, 2 bad usage.\n"
    "Documentation: docs/RULES.md, docs/SCHEMAS.md, docs/ERRORS.md.\n";

int
hubctl_usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs("hubctl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(" (see hubctl --help)\n", stderr);
    return HUBCTL_USAGE;
}

static bool
s_allowed(const char *name, const char *const *allowed)
{
    for (size_t i = 0; allowed && allowed[i]; i++) {
        if (strcmp(allowed[i], name) == 0) {
            return true;
        }
    }
    return false;
}

static bool
s_takes_value(const char *name)
{
    return strcmp(name, "config") == 0 || strcmp(name, "schemas") == 0 ||
           strcmp(name, "format") == 0 || strcmp(name, "output") == 0 ||
           strcmp(name, "message") == 0 || strcmp(name, "suite") == 0 ||
           strcmp(name, "hash-key") == 0 || strcmp(name, "dir") == 0 || strcmp(name, "listed") == 0;
}

// Stores option NAME's VALUE into OPTS.
static bool
s_set_option(hubctl_opts_t *opts, const char *name, const char *value)
{
    if (strcmp(name, "config") == 0) {
        opts->config = value;
        opts->config_given = true;
    } else if (strcmp(name, "schemas") == 0) {
        opts->schemas = value;
    } else if (strcmp(name, "output") == 0) {
        opts->output = value;
    } else if (strcmp(name, "format") == 0) {
        if (strcmp(value, "json") != 0 && strcmp(value, "text") != 0) {
            hubctl_usage_error("--format takes 'json' or 'text', not '%s'", value);
            return false;
        }
        opts->json = strcmp(value, "json") == 0;
    } else if (strcmp(name, "normalize") == 0) {
        opts->normalize = true;
    } else if (strcmp(name, "print") == 0) {
        opts->print = true;
    } else if (strcmp(name, "explain") == 0) {
        opts->explain = true;
    } else if (strcmp(name, "listed") == 0) {
        if (opts->nlisted == sizeof opts->listed / sizeof opts->listed[0] || !strchr(value, '=')) {
            hubctl_usage_error("--listed takes LIST=KEY (at most 16 times), not '%s'", value);
            return false;
        }
        opts->listed[opts->nlisted++] = value;
    } else if (strcmp(name, "message") == 0) {
        opts->message = value;
    } else if (strcmp(name, "suite") == 0) {
        opts->suite = value;
    } else if (strcmp(name, "hash-key") == 0) {
        opts->hash_key = value;
    } else if (strcmp(name, "dir") == 0) {
        opts->dir = value;
    }
    return true;
}

bool
hubctl_parse(int argc, char **argv, const char *const *allowed, hubctl_opts_t *opts)
{
    memset(opts, 0, sizeof *opts);
    const char *env = getenv("HUB_CONFIG");
    opts->config = env && *env ? env : "config";
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || strcmp(a, "-") == 0) {
            if (opts->nargs == sizeof opts->args / sizeof opts->args[0]) {
                hubctl_usage_error("too many arguments");
                return false;
            }
            opts->args[opts->nargs++] = a;
            continue;
        }
        char name[32];
        const char *eq = strchr(a, '=');
        const char *body = strcmp(a, "-o") == 0   ? "output"
                           : strcmp(a, "-c") == 0 ? "config"
                                                  : a + 2;
        size_t nlen = eq ? (size_t) (eq - body) : strlen(body);
        snprintf(name, sizeof name, "%.*s", (int) (nlen < 31 ? nlen : 31), body);
        bool short_opt = strcmp(a, "-o") == 0 || strcmp(a, "-c") == 0;
        if ((a[1] != '-' && !short_opt) || !s_allowed(name, allowed)) {
            hubctl_usage_error("unknown option '%s'", a);
            return false;
        }
        const char *value = NULL;
        if (s_takes_value(name)) {
            value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
            if (!value) {
                hubctl_usage_error("option --%s needs a value", name);
                return false;
            }
        }
        if (!s_set_option(opts, name, value)) {
            return false;
        }
    }
    return true;
}

hub_schemas_t *
hubctl_load_schemas(const hubctl_opts_t *opts, hub_diag_t *diag, char **dir_out)
{
    hub_config_t cfg = {0};
    char *dir = NULL;
    if (opts->schemas) {
        dir = strdup(opts->schemas);
    } else if (hub_config_load(&cfg, opts->config, diag) == HUB_OK) {
        dir = cfg.schemas_dir;
        cfg.schemas_dir = NULL;
    }
    hub_config_free(&cfg);
    hub_schemas_t *set = NULL;
    if (dir) {
        hub_schemas_load(&set, dir, diag);
    }
    if (dir_out) {
        *dir_out = dir;
    } else {
        free(dir);
    }
    return set;
}

bool
hubctl_load_conf(const hubctl_opts_t *opts, hubctl_conf_t *conf, hub_diag_t *diag)
{
    memset(conf, 0, sizeof *conf);
    if (opts->schemas && !opts->config_given) {
        // --schemas alone: the schemas and code tables, nothing else.
        conf->config.schemas_dir = strdup(opts->schemas);
        return hub_schemas_load(&conf->schemas, opts->schemas, diag) == HUB_OK;
    }
    if (hub_config_load(&conf->config, opts->config, diag) != HUB_OK) {
        return false;
    }
    if (opts->schemas) {
        free(conf->config.schemas_dir);
        conf->config.schemas_dir = strdup(opts->schemas);
    }
    const char *sdir = conf->config.schemas_dir;
    if (hub_schemas_load(&conf->schemas, sdir, diag) != HUB_OK ||
        hub_depts_load(&conf->depts, conf->config.departments, conf->schemas, diag) != HUB_OK) {
        return false;
    }
    return hub_rules_load(&conf->rules, opts->config, conf->schemas, conf->depts, diag) == HUB_OK;
}

void
hubctl_free_conf(hubctl_conf_t *conf)
{
    hub_rules_destroy(&conf->rules);
    hub_depts_destroy(&conf->depts);
    hub_schemas_destroy(&conf->schemas);
    hub_config_free(&conf->config);
}

// A file holds JSON when its first non-blank byte is '{'; else msgpack.
static bool
s_is_json(const hub_buf_t *buf)
{
    for (size_t i = 0; i < buf->len; i++) {
        uint8_t c = buf->data[i];
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
            return c == '{';
        }
    }
    return false;
}

int
hubctl_decode_file(const char *path, hub_msg_t *msg, hub_diag_t *diag, bool *io_failed)
{
    hub_buf_t buf = HUB_BUF_INIT;
    *io_failed = !hubctl_read_file(path, &buf);
    int rc = HUB_EIO;
    if (!*io_failed) {
        rc = s_is_json(&buf) ? hub_json_to_msg(msg, (const char *) buf.data, buf.len, path, diag)
                             : hub_codec_decode(msg, buf.data, buf.len, NULL, diag);
    }
    hub_buf_free(&buf);
    return rc;
}

json_t *
hubctl_msg_json(const hub_msg_t *msg)
{
    hub_buf_t out = HUB_BUF_INIT;
    json_t *j = NULL;
    if (hub_json_from_msg(msg, 0, &out) == HUB_OK) {
        j = json_loadb((const char *) out.data, out.len, 0, NULL);
    }
    hub_buf_free(&out);
    return j;
}

bool
hubctl_read_file(const char *path, hub_buf_t *buf)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "hubctl: %s: cannot open: %s\n", path, strerror(errno));
        return false;
    }
    char chunk[65536];
    size_t n;
    bool ok = true;
    while (ok && (n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        ok = hub_buf_append(buf, chunk, n) == HUB_OK && buf->len <= (64u << 20);
    }
    ok = ok && !ferror(f);
    if (!ok) {
        fprintf(stderr, "hubctl: %s: cannot read (or larger than 64 MiB)\n", path);
    }
    if (f != stdin) {
        fclose(f);
    }
    return ok;
}

void
hubctl_print_diag(const hubctl_opts_t *opts, const hub_diag_t *diag)
{
    if (!opts->json) {
        hub_diag_print(diag, stderr);
    }
}

json_t *
hubctl_diag_json(const hub_diag_t *diag)
{
    json_t *a = json_array();
    for (size_t i = 0; i < hub_diag_count(diag); i++) {
        const hub_diag_entry_t *e = hub_diag_at(diag, i);
        json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s}", "severity",
                                           hub_diag_sev_name(e->sev), "where", e->where, "reason",
                                           e->reason, "message", e->text));
    }
    return a;
}

void
hubctl_print_json(json_t *j)
{
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    if (text) {
        puts(text);
        free(text);
    }
    json_decref(j);
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        return hubctl_usage_error("missing command");
    }
    const char *cmd = argv[1];
    int ops = hubctl_ops_main(argc - 1, argv + 1); // status, dlq, cursor, reload, rules history
    if (ops >= 0) {
        return ops;
    }
    if (strcmp(cmd, "audit") == 0) {
        return hubctl_audit(argc - 2, argv + 2); // each subcommand answers its own --help
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0 ||
            strcmp(argv[1], "help") == 0) {
            fputs(s_help, stdout);
            return HUBCTL_OK;
        }
    }
    if (strcmp(cmd, "check") == 0) {
        return hubctl_check(argc - 2, argv + 2);
    }
    if (strcmp(cmd, "msg") == 0) {
        return hubctl_msg(argc - 2, argv + 2);
    }
    if (strcmp(cmd, "rules") == 0) {
        return hubctl_rules(argc - 2, argv + 2);
    }
    if (strcmp(cmd, "keygen") == 0) {
        return hubctl_keygen(argc - 2, argv + 2);
    }
    if (strcmp(cmd, "token") == 0) {
        return hubctl_token(argc - 2, argv + 2);
    }
    return hubctl_usage_error("unknown command '%s'", cmd);
}
