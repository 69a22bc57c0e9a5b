// hubctl audit query: the disclosures the audit recorded, selected by
// subject (through the keyed-hash index: never a scan), source, endpoint,
// rule, type, purpose and time (a binary search over the audit sequence),
// a page at a time; as a table, JSON or CSV. The reading itself goes into
// the operations log first: unrecorded, it is not answered.
#include "hubctl.h"
#include "hubctl_audit.h"
#include "hubctl_ops.h"

#include "hub_error.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char s_help[] =
    "usage: hubctl audit query [options]\n"
    "\n"
    "The disclosures recorded in the audit, oldest first, a page at a time.\n"
    "\n"
    "  --subject CITIZEN_ID  the records about this person (through the keyed-hash index;\n"
    "                        needs hub.yaml's hash_key)\n"
    "  --source DEPT         sent by this department (civil_affairs, health, ...)\n"
    "  --endpoint E          received by this endpoint (education@513431)\n"
    "  --rule R              released under this rule\n"
    "  --type T              of this message type (student.enrolment_change)\n"
    "  --purpose TEXT        whose purpose contains TEXT\n"
    "  --since TIME          at or after TIME (2026-11-27, 2026-11-27T08:00+08:00,\n"
    "                        yesterday, 2h, 30d)\n"
    "  --until TIME          before TIME\n"
    "  --limit N             records per page (default 100)\n"
    "  --after SEQ           the page after audit record SEQ (the seq the last page names)\n"
    "  --format table|json|csv\n"
    "  --config DIR          configuration directory (default $HUB_CONFIG, else ./config)\n"
    "\n"
    "The table shows each record's seq, time (local), source, type, endpoint, rules, purpose\n"
    "and the fields released with their masking ([partial], [hash], [year], [age_band]).\n"
    "Every query is recorded in the operations log (audit.query, with the OS user and the\n"
    "filters; a subject as its keyed hash) before it is answered: one that cannot be\n"
    "recorded (the store is full) is not answered, and the exit status is 1.\n";

// The page: the records selected, in order.
typedef hubctl_audit_recs_t s_page_t;

// ---------------------------------------------------------------- cells

// The cell of column COL for REC into B (emptied first).
enum { C_SEQ, C_TIME, C_SOURCE, C_TYPE, C_ENDPOINT, C_RULES, C_PURPOSE, C_FIELDS, C_COUNT };
static const char *const s_heads[C_COUNT] = {"SEQ",      "TIME",  "SOURCE",  "TYPE",
                                             "ENDPOINT", "RULES", "PURPOSE", "FIELDS"};

// The strings of LIST (N of them, NULLs skipped, repeats once) joined by SEP.
static void
s_join(hub_buf_t *b, const char *const *list, size_t n, const char *sep)
{
    size_t put = 0;
    for (size_t i = 0; i < n; i++) {
        bool seen = !list[i];
        for (size_t j = 0; j < i && !seen; j++) {
            seen = list[j] && strcmp(list[j], list[i]) == 0;
        }
        if (!seen) {
            hub_buf_printf(b, "%s%s", put++ ? sep : "", list[i]);
        }
    }
}

static void
s_fields(hub_buf_t *b, const hubctl_audit_rec_t *rec, const char *sep)
{
    for (size_t i = 0; i < rec->nfields; i++) {
        const hubctl_audit_field_t *f = &rec->fields[i];
        hub_buf_printf(b, "%s%s", i ? sep : "", f->path);
        if (strcmp(f->mask, "none") != 0) {
            hub_buf_printf(b, "[%s]", f->mask);
        }
    }
}

static void
s_cell(hub_buf_t *b, const hubctl_audit_rec_t *rec, int col)
{
    char t[64];
    b->len = 0;
    switch (col) {
    case C_SEQ:
        hub_buf_printf(b, "%llu", (unsigned long long) rec->seq);
        break;
    case C_TIME:
        hubctl_format_time(rec->time_ms, t, sizeof t);
        hub_buf_puts(b, t);
        break;
    case C_SOURCE:
        hub_buf_puts(b, rec->source);
        break;
    case C_TYPE:
        hub_buf_puts(b, rec->type);
        break;
    case C_ENDPOINT:
        hub_buf_puts(b, rec->endpoint);
        break;
    case C_RULES:
        s_join(b, rec->rules, rec->nrules, ",");
        break;
    case C_PURPOSE:
        s_join(b, rec->purposes, rec->nrules, " | ");
        break;
    default:
        s_fields(b, rec, ", ");
    }
    hub_buf_cstr(b);
}

// How many terminal columns TEXT takes: East Asian wide characters two.
static size_t
s_width(const char *text)
{
    size_t w = 0;
    const unsigned char *p = (const unsigned char *) text;
    while (*p) {
        uint32_t c = *p;
        int n = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
        c = n == 1 ? c : n == 2 ? c & 0x1f : n == 3 ? c & 0x0f : c & 0x07;
        for (int i = 1; i < n && (p[i] & 0xc0) == 0x80; i++) {
            c = c << 6 | (p[i] & 0x3f);
        }
        bool wide = (c >= 0x1100 && c <= 0x115f) || (c >= 0x2e80 && c <= 0xa4cf) ||
                    (c >= 0xac00 && c <= 0xd7a3) || (c >= 0xf900 && c <= 0xfaff) ||
                    (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff60) ||
                    (c >= 0xffe0 && c <= 0xffe6) || c >= 0x20000;
        w += wide ? 2 : 1;
        for (int i = 0; i < n && *p; i++) {
            p++;
        }
    }
    return w;
}

// ---------------------------------------------------------------- formats

static void
s_table(FILE *f, const s_page_t *page)
{
    size_t width[C_COUNT];
    hub_buf_t b = HUB_BUF_INIT;
    for (int c = 0; c < C_COUNT; c++) {
        width[c] = strlen(s_heads[c]);
        for (size_t i = 0; i < page->n; i++) {
            s_cell(&b, &page->recs[i], c);
            size_t w = s_width(hub_buf_cstr(&b));
            width[c] = w > width[c] ? w : width[c];
        }
    }
    for (size_t i = 0; i <= page->n; i++) {
        for (int c = 0; c < C_COUNT; c++) {
            const char *text = s_heads[c];
            if (i > 0) {
                s_cell(&b, &page->recs[i - 1], c);
                text = hub_buf_cstr(&b);
            }
            size_t pad = c + 1 < C_COUNT ? width[c] - s_width(text) + 2 : 0;
            fprintf(f, "%s%*s", text, (int) pad, "");
        }
        fputc('\n', f);
    }
    hub_buf_free(&b);
}

// TEXT as one CSV cell (RFC 4180: quoted when it holds a comma, a quote
// or a line break; quotes doubled).
static void
s_csv_cell(FILE *f, const char *text, bool last)
{
    if (strpbrk(text, ",\"\r\n")) {
        fputc('"', f);
        for (const char *p = text; *p; p++) {
            if (*p == '"') {
                fputc('"', f); // a quote is written twice
            }
            fputc(*p, f);
        }
        fputc('"', f);
    } else {
        fputs(text, f);
    }
    fputs(last ? "\r\n" : ",", f);
}

static void
s_csv(FILE *f, const s_page_t *page)
{
    static const char *const heads[] = {
        "seq",   "time",     "time_ms",     "source", "type",       "endpoint",  "eseq",
        "rules", "purposes", "legal_bases", "fields", "message_id", "origin_id", "ruleset"};
    const size_t nheads = sizeof heads / sizeof heads[0];
    hub_buf_t b = HUB_BUF_INIT;
    for (size_t c = 0; c < nheads; c++) {
        s_csv_cell(f, heads[c], c + 1 == nheads);
    }
    for (size_t i = 0; i < page->n; i++) {
        const hubctl_audit_rec_t *r = &page->recs[i];
        char t[64], seq[24], ms[24], eseq[24];
        hubctl_format_time(r->time_ms, t, sizeof t);
        snprintf(seq, sizeof seq, "%llu", (unsigned long long) r->seq);
        snprintf(ms, sizeof ms, "%llu", (unsigned long long) r->time_ms);
        snprintf(eseq, sizeof eseq, "%llu", (unsigned long long) r->eseq);
        const char *cells[] = {seq, t, ms, r->source, r->type, r->endpoint, eseq};
        for (size_t c = 0; c < sizeof cells / sizeof cells[0]; c++) {
            s_csv_cell(f, cells[c], false);
        }
        for (int c = 0; c < 4; c++) {
            b.len = 0;
            if (c == 3) {
                s_fields(&b, r, "; ");
            } else {
                s_join(&b, c == 0 ? r->rules : c == 1 ? r->purposes : r->bases, r->nrules, "; ");
            }
            s_csv_cell(f, hub_buf_cstr(&b), false);
        }
        s_csv_cell(f, r->message_id, false);
        s_csv_cell(f, r->origin_id ? r->origin_id : "", false);
        s_csv_cell(f, r->ruleset, true);
    }
    hub_buf_free(&b);
}

static void
s_json(FILE *f, const s_page_t *page, bool more)
{
    json_t *recs = json_array();
    for (size_t i = 0; i < page->n; i++) {
        const hubctl_audit_rec_t *r = &page->recs[i];
        json_t *j = hubctl_mp_json(r->raw, r->raw_len);
        char t[64];
        hubctl_format_time(r->time_ms, t, sizeof t);
        json_object_set_new(j, "time", json_string(t));
        json_array_append_new(recs, j);
    }
    json_t *out = json_pack("{s:o, s:I, s:b, s:o}", "records", recs, "count", (json_int_t) page->n,
                            "more", more, "next_after",
                            more && page->n ? json_integer((json_int_t) page->recs[page->n - 1].seq)
                                            : json_null());
    char *text = json_dumps(out, JSON_COMPACT);
    if (text) {
        fprintf(f, "%s\n", text);
        free(text);
    }
    json_decref(out);
}

// The page in format FMT, and where the next one starts.
static void
s_print(hubctl_fmt_t fmt, const s_page_t *page, bool more)
{
    if (fmt == HUBCTL_FMT_JSON) {
        s_json(stdout, page, more);
    } else if (fmt == HUBCTL_FMT_CSV) {
        s_csv(stdout, page);
    } else {
        s_table(stdout, page);
    }
    FILE *note = fmt == HUBCTL_FMT_TABLE ? stdout : stderr; // CSV stays clean
    if (more && fmt != HUBCTL_FMT_JSON) {
        unsigned long long last = page->recs[page->n - 1].seq;
        fprintf(note, "-- %zu records; more after seq %llu: add --after %llu\n", page->n, last,
                last);
    } else if (fmt == HUBCTL_FMT_TABLE) {
        fprintf(note, "-- %zu records; no more\n", page->n);
    }
    fflush(stdout);
}

int
hubctl_audit_query(int argc, char **argv)
{
    static const char *const allowed[] = {"config", "subject", "source", "endpoint", "rule",
                                          "type",   "purpose", "since",  "until",    "limit",
                                          "after",  "format",  NULL};
    if (hubctl_ops_help(argc, argv, s_help)) {
        return HUBCTL_OK;
    }
    hubctl_audit_t a;
    memset(&a, 0, sizeof a);
    if (!hubctl_audit_parse(argc, argv, allowed, &a.opts)) {
        return HUBCTL_USAGE;
    }
    hubctl_fmt_t fmt = a.opts.format ? a.opts.format : HUBCTL_FMT_TABLE;
    if (fmt != HUBCTL_FMT_TABLE && fmt != HUBCTL_FMT_JSON && fmt != HUBCTL_FMT_CSV) {
        return hubctl_usage_error("audit query: --format takes table, json or csv");
    }
    s_page_t page = {NULL, 0, 0};
    bool more = false;
    if (!hubctl_audit_open(&a, a.opts.subject != NULL)) {
        hubctl_audit_close(&a);
        return HUBCTL_INVALID;
    }
    size_t limit = a.opts.limit_given ? a.opts.limit : HUBCTL_AUDIT_LIMIT;
    int rc = hubctl_audit_select(&a, limit, hubctl_audit_keep, &page, &more);
    if (rc != HUB_OK) {
        fprintf(stderr, "hubctl: audit query failed: %s (%s)\n", hub_strerror(rc),
                hub_store_last_error(a.store));
    } else if (!hubctl_audit_record_access(&a, "audit.query", page.n)) {
        rc = HUB_EIO; // said: not recorded, so not shown
    } else {
        s_print(fmt, &page, more);
    }
    free(page.recs);
    hubctl_audit_close(&a);
    return rc ? HUBCTL_INVALID : HUBCTL_OK;
}
