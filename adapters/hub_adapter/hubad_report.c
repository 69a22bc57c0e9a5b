// The rejected-records report (CSV in UTF-8 with a BOM, so Excel opens it:
// file,line,column,value,reason,message), the dry run's output and the
// summary (docs/ADAPTERS.md, "The report and the summary").
#include "hubad.h"

#include "hub_error.h"
#include "hub_json.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

// Writes S as one CSV cell: quoted when it holds a comma, quote or line end;
// a cell that Excel would run as a formula (=, +, @, or - before a letter:
// department data is not trusted) gets a leading apostrophe.
static void
s_cell(FILE *f, const char *s)
{
    bool formula = s[0] == '=' || s[0] == '+' || s[0] == '@' ||
                   (s[0] == '-' && s[1] && !strchr("0123456789.", s[1]));
    bool quoted = strpbrk(s, ",\"\r\n") != NULL;
    if (quoted) {
        fputc('"', f);
    }
    if (formula) {
        fputc('\'', f);
    }
    for (; *s; s++) {
        if (*s == '"') {
            fputc('"', f);
        }
        fputc(*s, f);
    }
    if (quoted) {
        fputc('"', f);
    }
}

int
hubad_report_open(hubad_t *ad)
{
    ad->report = fopen(ad->opts.rejected, "w");
    if (!ad->report) {
        return HUB_EIO;
    }
    fputs("\xEF\xBB\xBF"
          "file,line,column,value,reason,message\r\n",
          ad->report);
    return ferror(ad->report) ? HUB_EIO : HUB_OK;
}

void
hubad_count(hubad_t *ad, const char *reason, uint64_t n)
{
    hubad_stats_t *st = &ad->stats;
    st->rejected += n;
    for (size_t i = 0; i < st->nreasons; i++) {
        if (strcmp(st->reasons[i].reason, reason) == 0) {
            st->reasons[i].count += n;
            return;
        }
    }
    if (st->nreasons < HUBAD_MAX_REASONS) {
        st->reasons[st->nreasons++] = (hubad_reason_t){reason, n};
    }
}

static void
s_reject_json(FILE *out, const char *file, uint64_t line, const char *column, const char *value,
              const char *reason, const char *text)
{
    json_t *j = json_pack("{s:{s:s,s:I,s:s,s:s,s:s,s:s}}", "rejected", "file", file, "line",
                          (json_int_t) line, "column", column, "value", value, "reason", reason,
                          "message", text);
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    if (s) {
        fprintf(out, "%s\n", s);
    }
    free(s);
    json_decref(j);
}

void
hubad_reject(hubad_t *ad, const char *file, uint64_t line, const char *column, const char *value,
             const char *reason, const char *text)
{
    hubad_count(ad, reason, 1);
    if (ad->report) {
        char num[24];
        snprintf(num, sizeof num, "%llu", (unsigned long long) line);
        const char *cells[6] = {file, num, column, value, reason, text};
        for (int i = 0; i < 6; i++) {
            if (i) {
                fputc(',', ad->report);
            }
            s_cell(ad->report, cells[i]);
        }
        fputs("\r\n", ad->report);
    }
    if (ad->report && !ad->opts.dry_run) {
        return;
    }
    FILE *out = ad->opts.dry_run ? stdout : stderr;
    if (ad->opts.json && ad->opts.dry_run) {
        s_reject_json(out, file, line, column, value, reason, text);
    } else {
        fprintf(out, "rejected %s:%llu: ", file, (unsigned long long) line);
        if (column[0]) {
            fprintf(out, "%s%s%s%s: ", column, value[0] ? " '" : "", value, value[0] ? "'" : "");
        }
        fprintf(out, "%s [%s]\n", text, reason);
    }
}

void
hubad_print_msg(hubad_t *ad)
{
    hub_buf_t out = HUB_BUF_INIT;
    if (hub_json_from_msg(ad->msg, 0, &out) == HUB_OK) {
        fwrite(out.data, 1, out.len, stdout);
        fputc('\n', stdout);
    }
    hub_buf_free(&out);
}

static int
s_by_count(const void *a, const void *b)
{
    const hubad_reason_t *x = a, *y = b;
    if (x->count != y->count) {
        return x->count > y->count ? -1 : 1;
    }
    return strcmp(x->reason, y->reason);
}

void
hubad_summary(const hubad_t *ad)
{
    const hubad_stats_t *st = &ad->stats;
    hubad_reason_t sorted[HUBAD_MAX_REASONS];
    memcpy(sorted, st->reasons, st->nreasons * sizeof *sorted);
    qsort(sorted, st->nreasons, sizeof *sorted, s_by_count);
    if (!ad->opts.json) {
        printf("published %llu, duplicate %llu, skipped %llu, rejected %llu\n",
               (unsigned long long) st->published, (unsigned long long) st->duplicate,
               (unsigned long long) st->skipped, (unsigned long long) st->rejected);
        for (size_t i = 0; i < st->nreasons; i++) {
            printf("  %s %llu\n", sorted[i].reason, (unsigned long long) sorted[i].count);
        }
        return;
    }
    json_t *reasons = json_object();
    for (size_t i = 0; reasons && i < st->nreasons; i++) {
        json_object_set_new(reasons, sorted[i].reason, json_integer((json_int_t) sorted[i].count));
    }
    json_t *j =
        json_pack("{s:I,s:I,s:I,s:I,s:o,s:I,s:b}", "published", (json_int_t) st->published,
                  "duplicate", (json_int_t) st->duplicate, "skipped", (json_int_t) st->skipped,
                  "rejected", (json_int_t) st->rejected, "reasons", reasons, "files",
                  (json_int_t) st->files, "dry_run", ad->opts.dry_run);
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    if (s) {
        printf("%s\n", s);
    }
    free(s);
    json_decref(j);
}
