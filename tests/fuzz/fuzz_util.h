// fuzz_util: what the fuzz targets share. Header-only (static inline), because
// `make fuzz` compiles each tests/fuzz/fuzz_<name>.c on its own with clang.
//
// The schema set is loaded once per process and kept in a static: it is
// read-only after loading, so reusing it across inputs is safe, and it stays
// reachable, so LeakSanitizer does not count it.
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include "hub_diag.h"
#include "hub_error.h"
#include "hub_msg.h"
#include "hub_schema.h"
#include "hub_validate.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// A broken invariant: say which, then abort() so libFuzzer keeps the input.
static inline void
fu_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static inline void
fu_fail(const char *fmt, ...)
{
    va_list ap;
    fputs("fuzz invariant broken: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

// Aborts on an allocation failure in the harness itself.
static inline void *
fu_need(void *p)
{
    if (!p) {
        fu_fail("out of memory in the harness");
    }
    return p;
}

// The schema directory: $HUB_SCHEMAS, else "schemas" (make test and the
// README's fuzz commands run from the repository root).
static inline const char *
fu_schema_dir(void)
{
    const char *dir = getenv("HUB_SCHEMAS");
    return dir && dir[0] ? dir : "schemas";
}

// The repository's schema set, loaded on first use; NULL when it cannot be
// loaded (then validation is skipped, once said on stderr).
static inline const hub_schemas_t *
fu_schemas(void)
{
    static hub_schemas_t *schemas;
    static bool tried;
    if (!tried) {
        tried = true;
        hub_diag_t *diag = fu_need(hub_diag_new());
        if (hub_schemas_load(&schemas, fu_schema_dir(), diag) != HUB_OK) {
            fprintf(stderr,
                    "fuzz: cannot load schemas from '%s' (set HUB_SCHEMAS); "
                    "validation skipped\n",
                    fu_schema_dir());
            hub_diag_print(diag, stderr);
            schemas = NULL;
        }
        hub_diag_destroy(&diag);
    }
    return schemas;
}

// Every kept diag entry must be well formed: a reason, NUL-terminated text
// within its buffers, and the counts must agree.
static inline void
fu_check_diag(const hub_diag_t *diag)
{
    size_t kept = hub_diag_count(diag);
    if (kept > HUB_DIAG_MAX || kept > hub_diag_total(diag) ||
        hub_diag_errors(diag) > hub_diag_total(diag)) {
        fu_fail("diag counts disagree: kept %zu, total %zu, errors %zu", kept, hub_diag_total(diag),
                hub_diag_errors(diag));
    }
    for (size_t i = 0; i < kept; i++) {
        const hub_diag_entry_t *e = hub_diag_at(diag, i);
        if (!e || !e->reason || !e->reason[0] || memchr(e->where, '\0', sizeof e->where) == NULL ||
            memchr(e->text, '\0', sizeof e->text) == NULL) {
            fu_fail("diag entry %zu is malformed", i);
        }
    }
    if (hub_diag_at(diag, kept) != NULL) {
        fu_fail("diag hands out an entry past its count");
    }
}

// A failed parse must say why: at least one error in DIAG (unless memory
// ran out, which may leave it empty).
static inline void
fu_check_failure_reported(int rc, const hub_diag_t *diag, const char *what)
{
    if (rc != HUB_ENOMEM && hub_diag_errors(diag) == 0) {
        fu_fail("%s failed with %s but reported no error", what, hub_error_name(rc));
    }
    fu_check_diag(diag);
}

// After validation with HUB_VALIDATE_NORMALIZE, every value that has a
// canonical form has been rewritten into it: validating again must find
// nothing "not_canonical" outside lists (list items are never rewritten).
static inline void
fu_check_normalised(const hub_schemas_t *schemas, hub_msg_t *msg, hub_diag_t *diag)
{
    hub_diag_reset(diag);
    int rc = hub_validate(schemas, msg, 0, diag);
    if (rc != HUB_OK && rc != HUB_EINVALID) {
        fu_fail("hub_validate returned %s", hub_error_name(rc));
    }
    fu_check_diag(diag);
    for (size_t i = 0; i < hub_diag_count(diag); i++) {
        const hub_diag_entry_t *e = hub_diag_at(diag, i);
        if (strcmp(e->reason, "not_canonical") == 0 && !strchr(e->where, '[')) {
            fu_fail("normalising left %s not canonical: %s", e->where, e->text);
        }
    }
}

// Validates MSG (flags 0 and then NORMALIZE, which may rewrite MSG) and
// checks the results make sense. Does nothing without schemas.
static inline void
fu_validate(hub_msg_t *msg, hub_diag_t *diag)
{
    const hub_schemas_t *schemas = fu_schemas();
    if (!schemas) {
        return;
    }
    hub_diag_reset(diag);
    int rc = hub_validate(schemas, msg, 0, diag);
    if (rc != HUB_OK && rc != HUB_EINVALID) {
        fu_fail("hub_validate returned %s", hub_error_name(rc));
    }
    if ((rc == HUB_EINVALID) != (hub_diag_errors(diag) > 0)) {
        fu_fail("hub_validate returned %s with %zu errors reported", hub_error_name(rc),
                hub_diag_errors(diag));
    }
    fu_check_diag(diag);
    hub_diag_reset(diag);
    rc = hub_validate(schemas, msg, HUB_VALIDATE_NORMALIZE, diag);
    if (rc != HUB_OK && rc != HUB_EINVALID) {
        fu_fail("hub_validate (normalize) returned %s", hub_error_name(rc));
    }
    fu_check_diag(diag);
    fu_check_normalised(schemas, msg, diag);
}

#endif
