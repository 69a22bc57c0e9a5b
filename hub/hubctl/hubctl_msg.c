// hubctl msg validate | encode | decode: messages by hand.
#include "hub_codec.h"
#include "hub_error.h"
#include "hub_json.h"
#include "hub_validate.h"
#include "hubctl.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void
s_print_msg(const hub_msg_t *msg, unsigned flags)
{
    hub_buf_t out = HUB_BUF_INIT;
    if (hub_json_from_msg(msg, flags, &out) == HUB_OK) {
        fwrite(out.data, 1, out.len, stdout);
        fputc('\n', stdout);
    }
    hub_buf_free(&out);
}

// Validates one file; prints its verdict. True when valid.
static bool
s_validate_one(const hubctl_opts_t *opts, const hub_schemas_t *set, const char *path,
               hub_msg_t *msg, hub_diag_t *diag)
{
    bool io_failed;
    hub_diag_reset(diag);
    int rc = hubctl_decode_file(path, msg, diag, &io_failed);
    if (rc == HUB_OK) {
        rc = hub_validate(set, msg, opts->normalize ? HUB_VALIDATE_NORMALIZE : 0, diag);
    }
    if (opts->json) {
        json_t *o =
            json_pack("{s:s, s:b, s:s, s:s}", "file", path, "valid", rc == HUB_OK, "type",
                      hub_msg_env_str(msg, HUB_ENV_TYPE), "id", hub_msg_env_str(msg, HUB_ENV_ID));
        json_object_set_new(o, "problems", hubctl_diag_json(diag));
        if (opts->print && rc == HUB_OK) {
            json_object_set_new(o, "message", hubctl_msg_json(msg));
        }
        hubctl_print_json(o);
        return rc == HUB_OK;
    }
    for (size_t i = 0; i < hub_diag_count(diag); i++) {
        const hub_diag_entry_t *e = hub_diag_at(diag, i);
        fprintf(stderr, "%s: %s%s%s: %s [%s]\n", path, e->where, e->where[0] ? ": " : "",
                hub_diag_sev_name(e->sev), e->text, e->reason);
    }
    if (rc == HUB_OK) {
        printf("%s: valid %s %s\n", path, hub_msg_env_str(msg, HUB_ENV_TYPE),
               hub_msg_env_str(msg, HUB_ENV_ID));
        if (opts->print) {
            s_print_msg(msg, HUB_JSON_PRETTY);
        }
    } else if (!io_failed) {
        printf("%s: invalid (%zu error%s)\n", path, hub_diag_errors(diag),
               hub_diag_errors(diag) == 1 ? "" : "s");
    }
    return rc == HUB_OK;
}

static int
s_validate(int argc, char **argv)
{
    static const char *const allowed[] = {"config",    "schemas", "format",
                                          "normalize", "print",   NULL};
    hubctl_opts_t opts;
    if (!hubctl_parse(argc, argv, allowed, &opts)) {
        return HUBCTL_USAGE;
    }
    if (opts.nargs == 0) {
        return hubctl_usage_error("msg validate needs a FILE (or - for standard input)");
    }
    hub_diag_t *diag = hub_diag_new();
    hub_schemas_t *set = hubctl_load_schemas(&opts, diag, NULL);
    if (!set) {
        hub_diag_print(diag, stderr);
        fprintf(stderr, "hubctl: cannot load the schemas (run hubctl check)\n");
        hub_diag_destroy(&diag);
        return HUBCTL_INVALID;
    }
    hub_msg_t *msg = hub_msg_new();
    bool all_valid = true;
    for (size_t i = 0; i < opts.nargs; i++) {
        all_valid &= s_validate_one(&opts, set, opts.args[i], msg, diag);
    }
    hub_msg_destroy(&msg);
    hub_schemas_destroy(&set);
    hub_diag_destroy(&diag);
    return all_valid ? HUBCTL_OK : HUBCTL_INVALID;
}

// Writes LEN bytes to PATH (NULL: standard output, refused on a terminal).
static int
s_write_out(const char *path, const void *data, size_t len)
{
    if (!path && isatty(STDOUT_FILENO)) {
        return hubctl_usage_error("msgpack is binary: give -o FILE or redirect the output");
    }
    FILE *f = path ? fopen(path, "wb") : stdout;
    if (!f || fwrite(data, 1, len, f) != len || (path && fclose(f) != 0)) {
        fprintf(stderr, "hubctl: %s: cannot write\n", path ? path : "standard output");
        return HUBCTL_INVALID;
    }
    return HUBCTL_OK;
}

// Shared by encode and decode: one input (default stdin) into a message.
static int
s_convert(int argc, char **argv, bool encode)
{
    static const char *const enc_allowed[] = {"output", NULL};
    static const char *const dec_allowed[] = {"format", NULL};
    hubctl_opts_t opts;
    if (!hubctl_parse(argc, argv, encode ? enc_allowed : dec_allowed, &opts)) {
        return HUBCTL_USAGE;
    }
    if (opts.nargs > 1) {
        return hubctl_usage_error("msg %s takes one FILE", encode ? "encode" : "decode");
    }
    const char *path = opts.nargs ? opts.args[0] : "-";
    hub_buf_t in = HUB_BUF_INIT, out = HUB_BUF_INIT;
    hub_diag_t *diag = hub_diag_new();
    hub_msg_t *msg = hub_msg_new();
    int status = HUBCTL_INVALID;
    if (hubctl_read_file(path, &in)) {
        int rc = encode ? hub_json_to_msg(msg, (const char *) in.data, in.len, path, diag)
                        : hub_codec_decode(msg, in.data, in.len, NULL, diag);
        if (rc) {
            hub_diag_print(diag, stderr);
        } else if (encode) {
            rc = hub_codec_encode(msg, &out);
            status = rc ? HUBCTL_INVALID : s_write_out(opts.output, out.data, out.len);
        } else {
            s_print_msg(msg, opts.json ? 0 : HUB_JSON_PRETTY);
            status = HUBCTL_OK;
        }
    }
    hub_msg_destroy(&msg);
    hub_diag_destroy(&diag);
    hub_buf_free(&in);
    hub_buf_free(&out);
    return status;
}

int
hubctl_msg(int argc, char **argv)
{
    if (argc < 1) {
        return hubctl_usage_error("msg needs a subcommand: validate, encode or decode");
    }
    if (strcmp(argv[0], "validate") == 0) {
        return s_validate(argc - 1, argv + 1);
    }
    if (strcmp(argv[0], "encode") == 0) {
        return s_convert(argc - 1, argv + 1, true);
    }
    if (strcmp(argv[0], "decode") == 0) {
        return s_convert(argc - 1, argv + 1, false);
    }
    return hubctl_usage_error("unknown msg subcommand '%s'", argv[0]);
}
