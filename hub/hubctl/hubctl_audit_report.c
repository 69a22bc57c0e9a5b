// hubctl audit report --subject ID: a subject-access report (PIPL Arts.
// 45, 55-56) a person can read: which departments received which of their
// data, when, under which rule, for which purpose and on which legal
// basis, masked how. In Chinese and English (both unless --lang picks
// one), as text, self-contained HTML or JSON. Names come from the
// configuration: departments.yaml (departments), the division code table
// (counties), the schemas (message types and fields).
#include "hubctl.h"
#include "hubctl_audit.h"
#include "hubctl_ops.h"

#include "hub_depts.h"
#include "hub_error.h"
#include "hub_ids.h"
#include "hub_schema.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char s_help[] =
    "usage: hubctl audit report --subject CITIZEN_ID [--lang zh|en] [--format text|html|json]\n"
    "                           [-o FILE] [--since TIME] [--until TIME] [--config DIR]\n"
    "\n"
    "A subject-access report: every disclosure of this person's data the audit holds (found\n"
    "through the keyed-hash index), with the receiving department, when, the rule, its\n"
    "purpose and legal basis, and each field released with its masking. In Chinese and\n"
    "English (both by default; --lang picks one); text (default), self-contained HTML or JSON.\n"
    "The report is recorded in the operations log (audit.report, the subject as its keyed\n"
    "hash) before it is written: one that cannot be recorded (the store is full) is not\n"
    "written, and the exit status is 1.\n";

typedef struct {
    const char *zh, *en;
} s_name_t;

// What the report prints with: the output and the names.
typedef struct {
    FILE *f;
    bool html;
    int lang; // 0 both, 1 zh, 2 en
    hubctl_audit_t *a;
    hub_schemas_t *schemas;
    hub_depts_t *depts;
    const hub_codes_t *divisions;
    hubctl_audit_recs_t kept; // the records selected, in order
    char cid[19];
    hub_buf_t tmp;
} s_report_t;

// ---------------------------------------------------------------- names

static const struct {
    const char *mask, *zh, *en;
} s_masks[] = {
    {"none", "未遮蔽", "unmasked"},
    {"partial", "部分遮蔽", "partly masked"},
    {"hash", "密钥哈希（假名）", "keyed hash (pseudonym)"},
    {"year", "仅年份", "year only"},
    {"age_band", "年龄段", "age band"},
};

static s_name_t
s_mask(const char *mask)
{
    for (size_t i = 0; i < sizeof s_masks / sizeof s_masks[0]; i++) {
        if (strcmp(mask, s_masks[i].mask) == 0) {
            return (s_name_t){s_masks[i].zh, s_masks[i].en};
        }
    }
    return (s_name_t){mask, mask};
}

// The department DEPT's names, or its id.
static s_name_t
s_dept(const s_report_t *r, const char *dept)
{
    const hub_dept_t *d = r->depts ? hub_depts_find(r->depts, dept) : NULL;
    return d ? (s_name_t){d->zh, d->en} : (s_name_t){dept, dept};
}

// An endpoint's names: 昭觉县教育局 / Education Bureau, Zhaojue County, made in
// R->tmp (zh, NUL, en, NUL). Valid until the next call.
static s_name_t
s_endpoint(s_report_t *r, const char *id)
{
    const hub_endpoint_t *ep = r->depts ? hub_depts_endpoint(r->depts, id) : NULL;
    if (!ep) {
        return (s_name_t){id, id};
    }
    s_name_t dept = s_dept(r, ep->department);
    const hub_code_t *div =
        r->divisions ? hub_codes_find(r->divisions, ep->division, strlen(ep->division)) : NULL;
    r->tmp.len = 0;
    hub_buf_printf(&r->tmp, "%s%s", div ? div->zh : ep->division, dept.zh);
    hub_buf_append(&r->tmp, "", 1);
    size_t en = r->tmp.len;
    hub_buf_printf(&r->tmp, "%s, %s", dept.en, div ? div->en : ep->division);
    hub_buf_append(&r->tmp, "", 1);
    return (s_name_t){(const char *) r->tmp.data, (const char *) r->tmp.data + en};
}

static s_name_t
s_type(const s_report_t *r, const char *type)
{
    const hub_schema_t *s = r->schemas ? hub_schemas_find(r->schemas, type, strlen(type)) : NULL;
    return s ? (s_name_t){s->title_zh, s->title_en} : (s_name_t){type, type};
}

static s_name_t
s_field(const s_report_t *r, const char *type, const char *path)
{
    const hub_schema_t *s = r->schemas ? hub_schemas_find(r->schemas, type, strlen(type)) : NULL;
    const hub_field_spec_t *f = s ? hub_schema_path(s, path) : NULL;
    return f && f->zh && f->en ? (s_name_t){f->zh, f->en} : (s_name_t){path, path};
}

// ---------------------------------------------------------------- printing

// TEXT, escaped for HTML when the report is HTML.
static void
s_put(const s_report_t *r, const char *text)
{
    if (!r->html) {
        fputs(text, r->f);
        return;
    }
    for (const char *p = text; *p; p++) {
        switch (*p) {
        case '&':
            fputs("&amp;", r->f);
            break;
        case '<':
            fputs("&lt;", r->f);
            break;
        case '>':
            fputs("&gt;", r->f);
            break;
        case '"':
            fputs("&quot;", r->f);
            break;
        case '\'':
            fputs("&#39;", r->f);
            break;
        default:
            fputc(*p, r->f);
        }
    }
}

// A name in the report's languages: "zh / en", or one of them.
static void
s_bi(const s_report_t *r, s_name_t n)
{
    if (r->lang != 2) {
        s_put(r, n.zh);
    }
    if (r->lang == 0 && strcmp(n.zh, n.en) != 0) {
        fputs(r->html ? "<br><span class=\"en\" lang=\"en\">" : " / ", r->f);
    }
    if (r->lang == 2 || (r->lang == 0 && strcmp(n.zh, n.en) != 0)) {
        s_put(r, n.en);
    }
    if (r->html && r->lang == 0 && strcmp(n.zh, n.en) != 0) {
        fputs("</span>", r->f);
    }
}

// A label ("目的 / Purpose") for text: padded; for HTML: as it is.
static void
s_label(const s_report_t *r, const char *zh, const char *en)
{
    s_bi(r, (s_name_t){zh, en});
    if (!r->html) {
        fputs(": ", r->f);
    }
}

static void
s_time(const s_report_t *r, uint64_t ms)
{
    char t[64];
    hubctl_format_time(ms, t, sizeof t);
    s_put(r, t);
}

// The subject's ID with the middle digits hidden: 513431********0019.
static void
s_masked_cid(const s_report_t *r, char out[19])
{
    memcpy(out, r->cid, 19);
    for (int i = 6; i < 14; i++) {
        out[i] = '*';
    }
}

// ---------------------------------------------------------------- summary

typedef struct {
    const char *endpoint;
    size_t count;
    uint64_t first, last;
} s_recipient_t;

// The recipients in order of first disclosure; *N their number.
static s_recipient_t *
s_recipients(const s_report_t *r, size_t *n)
{
    s_recipient_t *out = calloc(r->kept.n + 1, sizeof *out);
    *n = 0;
    for (size_t i = 0; out && i < r->kept.n; i++) {
        const hubctl_audit_rec_t *rec = &r->kept.recs[i];
        size_t j = 0;
        while (j < *n && strcmp(out[j].endpoint, rec->endpoint) != 0) {
            j++;
        }
        if (j == *n) {
            out[(*n)++] = (s_recipient_t){rec->endpoint, 0, rec->time_ms, rec->time_ms};
        }
        out[j].count++;
        out[j].last = rec->time_ms;
    }
    return out;
}

// ---------------------------------------------------------------- text and HTML

// A row of the report's head: the label, then the caller prints the value
// and calls s_head_end().
static void
s_head_row(const s_report_t *r, const char *zh, const char *en)
{
    fputs(r->html ? "<tr><th>" : "", r->f);
    s_label(r, zh, en);
    fputs(r->html ? "</th><td>" : "", r->f);
}

static void
s_head_end(const s_report_t *r)
{
    fputs(r->html ? "</td></tr>\n" : "\n", r->f);
}

static void
s_html_start(const s_report_t *r)
{
    fprintf(r->f, "<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n<meta charset=\"utf-8\">\n<title>",
            r->lang == 2 ? "en" : "zh-CN");
    // A title is plain text: the languages side by side.
    fputs(r->lang == 1   ? "个人信息提供记录查阅报告"
          : r->lang == 2 ? "Subject access report"
                         : "个人信息提供记录查阅报告 / Subject access report",
          r->f);
    fputs("</title>\n<style>body{font-family:sans-serif;margin:2em;color:#222}"
          "table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #999;"
          "padding:.3em .6em;vertical-align:top;text-align:left}th{background:#eee}"
          ".en{color:#555;font-size:.9em}ul{margin:0;padding-left:1.2em}</style>\n"
          "</head>\n<body>\n<h1>",
          r->f);
}

static void
s_head(s_report_t *r)
{
    char masked[19], t[64], user[128];
    const hubctl_audit_opts_t *o = &r->a->opts;
    s_masked_cid(r, masked);
    hubctl_format_time(hubctl_now_ms(), t, sizeof t);
    if (r->html) {
        s_html_start(r);
    }
    s_bi(r, (s_name_t){"个人信息提供记录查阅报告", "Subject access report"});
    fputs(r->html ? "</h1>\n<table>\n" : "\n\n", r->f);
    s_head_row(r, "查询对象", "Subject");
    s_put(r, masked);
    s_head_end(r);
    s_head_row(r, "生成时间", "Generated");
    s_put(r, t);
    s_put(r, " (");
    s_put(r, hubctl_user(user, sizeof user));
    s_put(r, ")");
    s_head_end(r);
    s_head_row(r, "记录范围", "Period");
    if (o->since_given || o->until_given) {
        if (o->since_given) {
            s_time(r, o->since_ms);
        }
        s_put(r, " – ");
        if (o->until_given) {
            s_time(r, o->until_ms);
        }
    } else {
        s_bi(r, (s_name_t){"审计保存的全部记录", "every record the audit keeps"});
    }
    s_head_end(r);
    s_head_row(r, "提供次数", "Disclosures");
    fprintf(r->f, "%zu", r->kept.n);
    s_head_end(r);
    fputs(r->html ? "</table>\n" : "\n", r->f);
}

static void
s_summary(s_report_t *r)
{
    size_t n;
    s_recipient_t *rs = s_recipients(r, &n);
    fputs(r->html ? "<h2>" : "", r->f);
    s_bi(r, (s_name_t){"接收部门汇总", "Recipients"});
    fputs(r->html ? "</h2>\n<table>\n<tr><th>" : "\n", r->f);
    if (r->html) {
        s_bi(r, (s_name_t){"接收部门", "Recipient"});
        fputs("</th><th>", r->f);
        s_bi(r, (s_name_t){"次数", "Times"});
        fputs("</th><th>", r->f);
        s_bi(r, (s_name_t){"首次 – 最近", "First – last"});
        fputs("</th></tr>\n", r->f);
    }
    for (size_t i = 0; rs && i < n; i++) {
        fputs(r->html ? "<tr><td>" : "  ", r->f);
        s_bi(r, s_endpoint(r, rs[i].endpoint));
        s_put(r, " (");
        s_put(r, rs[i].endpoint);
        s_put(r, ")");
        if (r->html) {
            fprintf(r->f, "</td><td>%zu</td><td>", rs[i].count);
        } else {
            fprintf(r->f, ": %zu ", rs[i].count);
            s_bi(r, (s_name_t){"次", "times"});
            fputs(", ", r->f);
        }
        s_time(r, rs[i].first);
        s_put(r, " – ");
        s_time(r, rs[i].last);
        fputs(r->html ? "</td></tr>\n" : "\n", r->f);
    }
    fputs(r->html ? "</table>\n" : "\n", r->f);
    free(rs);
}

// One line of a disclosure: "    LABEL: " (text) or a table row (HTML).
static void
s_row(const s_report_t *r, const char *zh, const char *en)
{
    fputs(r->html ? "<tr><th>" : "    ", r->f);
    s_label(r, zh, en);
    fputs(r->html ? "</th><td>" : "", r->f);
}

static void
s_row_end(const s_report_t *r)
{
    fputs(r->html ? "</td></tr>\n" : "\n", r->f);
}

static void
s_rules(s_report_t *r, const hubctl_audit_rec_t *rec)
{
    for (size_t i = 0; i < rec->nrules; i++) {
        s_row(r, "规则", "Rule");
        s_put(r, rec->rules[i]);
        if (*rec->ruleset) {
            fputs(r->html ? " <span class=\"en\">(" : " (", r->f);
            s_bi(r, (s_name_t){"规则集", "rule set"});
            fprintf(r->f, " %.12s)%s", rec->ruleset, r->html ? "</span>" : "");
        }
        s_row_end(r);
        s_row(r, "目的", "Purpose");
        s_put(r, rec->purposes[i] ? rec->purposes[i] : "—");
        s_row_end(r);
        s_row(r, "法律依据", "Legal basis");
        s_put(r, rec->bases[i] ? rec->bases[i] : "—");
        s_row_end(r);
    }
}

static void
s_fields(s_report_t *r, const hubctl_audit_rec_t *rec)
{
    fputs(r->html ? "<tr><th>" : "    ", r->f);
    s_bi(r, (s_name_t){"提供的字段", "Fields released"});
    fputs(r->html ? "</th><td><ul>\n" : ":\n", r->f);
    for (size_t i = 0; i < rec->nfields; i++) {
        const hubctl_audit_field_t *f = &rec->fields[i];
        fputs(r->html ? "<li>" : "      - ", r->f);
        s_bi(r, s_field(r, rec->type, f->path));
        s_put(r, " (");
        s_put(r, f->path);
        s_put(r, "): ");
        s_bi(r, s_mask(f->mask));
        if (rec->nrules > 1 && f->rule) {
            s_put(r, " [");
            s_put(r, f->rule);
            s_put(r, "]");
        }
        fputs(r->html ? "</li>\n" : "\n", r->f);
    }
    fputs(r->html ? "</ul></td></tr>\n" : "", r->f);
}

static void
s_record(s_report_t *r, size_t i)
{
    const hubctl_audit_rec_t *rec = &r->kept.recs[i];
    char seq[32];
    fprintf(r->f, r->html ? "<h3>%zu. " : "[%zu] ", i + 1);
    s_time(r, rec->time_ms);
    s_put(r, " → ");
    s_bi(r, s_endpoint(r, rec->endpoint));
    s_put(r, " (");
    s_put(r, rec->endpoint);
    s_put(r, ")");
    fputs(r->html ? "</h3>\n<table>\n" : "\n", r->f);
    s_row(r, "数据来源", "From");
    s_bi(r, s_dept(r, rec->source));
    s_put(r, " (");
    s_put(r, rec->source);
    s_put(r, ")");
    s_row_end(r);
    s_row(r, "消息", "Message");
    s_bi(r, s_type(r, rec->type));
    s_put(r, " (");
    s_put(r, rec->message_id);
    s_put(r, "; ");
    s_bi(r, (s_name_t){"审计序号", "audit seq"});
    snprintf(seq, sizeof seq, " %llu)", (unsigned long long) rec->seq);
    s_put(r, seq);
    s_row_end(r);
    s_rules(r, rec);
    s_fields(r, rec);
    fputs(r->html ? "</table>\n" : "\n", r->f);
}

static void
s_document(s_report_t *r)
{
    s_head(r);
    if (r->kept.n) {
        s_summary(r);
        fputs(r->html ? "<h2>" : "", r->f);
        s_bi(r, (s_name_t){"提供明细", "Disclosures"});
        fputs(r->html ? "</h2>\n" : "\n", r->f);
    } else {
        fputs(r->html ? "<p>" : "", r->f);
        s_bi(r, (s_name_t){"审计中没有向任何部门提供此人数据的记录。",
                           "The audit holds no disclosure of this person's data."});
        fputs(r->html ? "</p>\n" : "\n", r->f);
    }
    for (size_t i = 0; i < r->kept.n; i++) {
        s_record(r, i);
    }
    fputs(r->html ? "</body>\n</html>\n" : "", r->f);
}

// ---------------------------------------------------------------- JSON

static json_t *
s_name_json(s_name_t n)
{
    return json_pack("{s:s, s:s}", "zh", n.zh, "en", n.en);
}

static json_t *
s_record_json(s_report_t *r, const hubctl_audit_rec_t *rec)
{
    char t[64];
    hubctl_format_time(rec->time_ms, t, sizeof t);
    json_t *rules = json_array(), *fields = json_array();
    for (size_t i = 0; i < rec->nrules; i++) {
        json_array_append_new(rules, json_pack("{s:s, s:s?, s:s?}", "id", rec->rules[i], "purpose",
                                               rec->purposes[i], "legal_basis", rec->bases[i]));
    }
    for (size_t i = 0; i < rec->nfields; i++) {
        const hubctl_audit_field_t *f = &rec->fields[i];
        json_array_append_new(fields, json_pack("{s:s, s:o, s:s, s:o, s:s?}", "path", f->path,
                                                "name", s_name_json(s_field(r, rec->type, f->path)),
                                                "mask", f->mask, "mask_name",
                                                s_name_json(s_mask(f->mask)), "rule", f->rule));
    }
    return json_pack("{s:I, s:s, s:I, s:s, s:I, s:o, s:s, s:o, s:s, s:o, s:s, s:s?, s:s, s:o, "
                     "s:o}",
                     "seq", (json_int_t) rec->seq, "time", t, "time_ms", (json_int_t) rec->time_ms,
                     "endpoint", rec->endpoint, "eseq", (json_int_t) rec->eseq, "recipient",
                     s_name_json(s_endpoint(r, rec->endpoint)), "source", rec->source,
                     "source_name", s_name_json(s_dept(r, rec->source)), "type", rec->type,
                     "type_name", s_name_json(s_type(r, rec->type)), "message_id", rec->message_id,
                     "origin_id", rec->origin_id, "ruleset", rec->ruleset, "rules", rules, "fields",
                     fields);
}

static void
s_json(s_report_t *r)
{
    char masked[19], key[65], t[64], user[128];
    s_masked_cid(r, masked);
    hubctl_audit_hex(r->a->subject, sizeof r->a->subject, key);
    hubctl_format_time(hubctl_now_ms(), t, sizeof t);
    json_t *recs = json_array(), *recipients = json_array();
    for (size_t i = 0; i < r->kept.n; i++) {
        json_array_append_new(recs, s_record_json(r, &r->kept.recs[i]));
    }
    size_t n;
    s_recipient_t *rs = s_recipients(r, &n);
    for (size_t i = 0; rs && i < n; i++) {
        json_array_append_new(
            recipients,
            json_pack("{s:s, s:o, s:I, s:I, s:I}", "endpoint", rs[i].endpoint, "name",
                      s_name_json(s_endpoint(r, rs[i].endpoint)), "count", (json_int_t) rs[i].count,
                      "first_ms", (json_int_t) rs[i].first, "last_ms", (json_int_t) rs[i].last));
    }
    free(rs);
    json_t *j =
        json_pack("{s:s, s:s, s:s, s:s, s:I, s:o, s:o}", "subject", masked, "subject_key", key,
                  "generated", t, "generated_by", hubctl_user(user, sizeof user), "disclosures",
                  (json_int_t) r->kept.n, "recipients", recipients, "records", recs);
    char *text = json_dumps(j, JSON_INDENT(1));
    if (text) {
        fprintf(r->f, "%s\n", text);
    }
    free(text);
    json_decref(j);
}

// ---------------------------------------------------------------- the command

// The names: schemas and departments (a report without them shows ids).
static void
s_names(s_report_t *r)
{
    hub_diag_t *diag = hub_diag_new();
    if (hub_schemas_load(&r->schemas, r->a->cfg.schemas_dir, diag) != HUB_OK ||
        hub_depts_load(&r->depts, r->a->cfg.departments, r->schemas, diag) != HUB_OK) {
        hub_diag_print(diag, stderr);
        fprintf(stderr, "hubctl: warning: the configuration does not load; the report shows "
                        "ids instead of names\n");
    }
    r->divisions = r->schemas ? hub_schemas_codes(r->schemas, "division") : NULL;
    hub_diag_destroy(&diag);
}

static int
s_run(s_report_t *r)
{
    hubctl_audit_t *a = r->a;
    if (!hubctl_audit_open(a, true)) {
        return HUB_EIO;
    }
    hub_cid_normalize(a->opts.subject, strlen(a->opts.subject), r->cid, NULL, 0);
    s_names(r);
    int rc = hubctl_audit_select(a, 0, hubctl_audit_keep, &r->kept, NULL);
    // Recorded before a word of it is written: not recorded, not written.
    if (!rc && !hubctl_audit_record_access(a, "audit.report", r->kept.n)) {
        return HUB_EIO;
    }
    r->f = rc ? NULL : hubctl_audit_out_open(&a->opts);
    if (!rc && !r->f) {
        return HUB_EIO;
    }
    if (!rc) {
        if (a->opts.format == HUBCTL_FMT_JSON) {
            s_json(r);
        } else {
            s_document(r);
        }
        rc = hubctl_audit_out_close(&a->opts, r->f) ? HUB_OK : HUB_EIO;
    } else {
        fprintf(stderr, "hubctl: audit report failed: %s\n", hub_strerror(rc));
    }
    return rc;
}

int
hubctl_audit_report(int argc, char **argv)
{
    static const char *const allowed[] = {"config", "subject", "lang",  "format",
                                          "output", "since",   "until", NULL};
    if (hubctl_ops_help(argc, argv, s_help)) {
        return HUBCTL_OK;
    }
    hubctl_audit_t a;
    memset(&a, 0, sizeof a);
    if (!hubctl_audit_parse(argc, argv, allowed, &a.opts)) {
        return HUBCTL_USAGE;
    }
    hubctl_fmt_t fmt = a.opts.format ? a.opts.format : HUBCTL_FMT_TEXT;
    if (fmt != HUBCTL_FMT_TEXT && fmt != HUBCTL_FMT_HTML && fmt != HUBCTL_FMT_JSON) {
        return hubctl_usage_error("audit report: --format takes text, html or json");
    }
    if (!a.opts.subject) {
        return hubctl_usage_error("audit report needs --subject CITIZEN_ID");
    }
    s_report_t r;
    memset(&r, 0, sizeof r);
    r.a = &a;
    r.html = fmt == HUBCTL_FMT_HTML;
    r.lang = !a.opts.lang ? 0 : strcmp(a.opts.lang, "zh") == 0 ? 1 : 2;
    int rc = s_run(&r);
    free(r.kept.recs);
    hub_buf_free(&r.tmp);
    hub_depts_destroy(&r.depts);
    hub_schemas_destroy(&r.schemas);
    hubctl_audit_close(&a);
    return rc ? HUBCTL_INVALID : HUBCTL_OK;
}
