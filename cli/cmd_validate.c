/* thingpress validate FILE: parse + validate, no network (DESIGN.md §4, §5).
 * Output streams as items are validated, so a 1,000,000-line file prints in
 * constant memory; the text report lists problems as they come, then the
 * summary.
 *
 * --check-registry adds the registry's read-only state to each verdict
 * (engine/regcheck.h rc_verdict): a first pass collects the fingerprints, the
 * registry check answers them (paging through ListCertificates for large
 * files), and the second pass prints the folded verdicts. It uses the same
 * endpoint and credential options as provision. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/xalloc.h"
#include "cli/cmd.h"
#include "cli/jobopts.h"
#include "cli/provctx.h"
#include "cli/regfold.h"
#include "engine/regcheck.h"
#include "parsers/scan.h"

typedef enum { OUT_TEXT, OUT_JSON, OUT_TSV } out_mode;

enum { TEXT_MAX_PROBLEMS = 200 };
/* longest thing name shown in a text line, in bytes */
#define TEXT_NAME_MAX 96

typedef struct {
    out_mode mode;
    FILE *out;
    int color;
    size_t shown;  /* problems printed (text) */
    size_t hidden; /* problems not printed (text) */
    int first;     /* json: no item printed yet */
    buf line;
    /* --check-registry: per item index, the registry's answer */
    rc_result *reg;
    size_t n_reg;
    int phase;
    size_t ok, warn, error; /* the folded verdicts */
} emitter;

static const char help[] =
    "usage: thingpress validate FILE [options]\n"
    "\n"
    "Parse and validate a vendor certificate file (Phase 1) or a device-infos file\n"
    "(Phase 2) without touching the network.\n"
    "\n"
    "  --output text|json|tsv  text: summary and problem items (default): each by\n"
    "                          its index (0-based, as in tsv and json) and line\n"
    "                          (1-based)\n"
    "                          tsv: index, thing_name, fingerprint, verdict, message\n"
    "                          json: the same items and a summary, one document\n"
    "  --threads N             decoder threads (default: all cores)\n"
    "  --check-registry        also ask the registry (read-only) about each\n"
    "                          certificate and fold its state into the verdict:\n"
    "                          Phase 2 not registered or REVOKED is an error,\n"
    "                          already ACTIVE is done; takes provision's endpoint\n"
    "                          and credential options (below)\n"
    "\n"
    "Exit status: 0 all items valid (warnings allowed), 1 some items invalid,\n"
    "2 the file or the invocation was rejected.\n"
    "\n";

/* TSV cells must not hold tabs or line breaks. */
static void put_cell(buf *b, const char *s)
{
    if (!s)
        return;
    size_t start = b->len, n = strlen(s);
    buf_append(b, s, n);
    for (char *p = b->data + start; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
}

static const char *shown_fingerprint(const item *it, char *tmp, size_t n)
{
    if (it->is_device && it->given_fingerprint)
        return item_fp_key(tmp, n, it->given_fingerprint);
    return it->fingerprint;
}

static const char *color_of(const emitter *em, item_verdict v)
{
    if (!em->color)
        return "";
    return v == ITEM_ERROR ? "\033[1;31m" : v == ITEM_WARN ? "\033[33m" : "\033[32m";
}

/* The registry's state folded into the item's verdict and message. */
static void fold_registry(emitter *em, item *it)
{
    if (!em->reg || it->index >= em->n_reg || em->reg[it->index].state == RC_PENDING)
        return;
    char why[300];
    item_verdict v = rc_verdict(em->phase, &em->reg[it->index], why, sizeof why);
    if (!why[0])
        return;
    if (v > it->verdict)
        it->verdict = v;
    size_t len = strlen(it->message);
    snprintf(it->message + len, sizeof it->message - len, "%s%s", len ? "; " : "", why);
}

static int emit(void *ctx, item *it)
{
    emitter *em = ctx;
    fold_registry(em, it);
    if (it->verdict == ITEM_ERROR)
        em->error++;
    else if (it->verdict == ITEM_WARN)
        em->warn++;
    else
        em->ok++;
    char fpbuf[256];
    const char *fp = shown_fingerprint(it, fpbuf, sizeof fpbuf);
    buf *b = &em->line;
    buf_reset(b);
    switch (em->mode) {
    case OUT_TSV:
        buf_printf(b, "%zu\t", it->index);
        put_cell(b, it->thing_name);
        buf_putc(b, '\t');
        put_cell(b, fp);
        buf_printf(b, "\t%s\t", item_verdict_name(it->verdict));
        put_cell(b, it->message);
        buf_putc(b, '\n');
        break;
    case OUT_JSON:
        buf_puts(b, em->first ? "\n    " : ",\n    ");
        em->first = 0;
        buf_printf(b, "{\"index\": %zu, \"line\": %lu, \"where\": ", it->index, it->line);
        if (it->where)
            buf_json_str(b, it->where);
        else
            buf_puts(b, "null");
        buf_puts(b, ", \"thing_name\": ");
        if (it->thing_name)
            buf_json_str(b, it->thing_name);
        else
            buf_puts(b, "null");
        buf_puts(b, ", \"fingerprint\": ");
        buf_json_str(b, fp);
        buf_printf(
            b, ", \"verdict\": \"%s\", \"message\": ", item_verdict_name(it->verdict));
        buf_json_str(b, it->message);
        buf_putc(b, '}');
        break;
    case OUT_TEXT:
        if (it->verdict == ITEM_OK)
            return 0;
        if (em->shown >= TEXT_MAX_PROBLEMS) {
            em->hidden++;
            return 0;
        }
        em->shown++;
        buf_printf(b, "  %s%-5s%s index %zu", color_of(em, it->verdict),
                   item_verdict_name(it->verdict), em->color ? "\033[0m" : "", it->index);
        if (it->line)
            buf_printf(b, ", line %lu", it->line);
        else if (it->where)
            buf_printf(b, ", %s", it->where);
        if (it->thing_name) {
            /* a name can be a whole oversized field: the line stays a line
             * (tsv and json carry it in full) */
            char shown[TEXT_NAME_MAX + 4];
            size_t len = strlen(it->thing_name);
            buf_putc(b, ' ');
            if (len > TEXT_NAME_MAX) {
                size_t k = TEXT_NAME_MAX;
                while (k && ((unsigned char)it->thing_name[k] & 0xc0) == 0x80)
                    k--; /* not inside a UTF-8 character */
                snprintf(shown, sizeof shown, "%.*s...", (int)k, it->thing_name);
                put_cell(b, shown);
            } else {
                put_cell(b, it->thing_name);
            }
        }
        buf_puts(b, ": ");
        put_cell(b, it->message);
        buf_putc(b, '\n');
        break;
    }
    fwrite(b->data, 1, b->len, em->out);
    return 0;
}

static const char *phase_text(vendor v)
{
    return vendor_is_phase2(v) ? "device-infos file (Phase 2)" : "vendor file (Phase 1)";
}

int cmd_validate(int argc, char **argv)
{
    provctx pc;
    provctx_init(&pc);
    emitter em;
    memset(&em, 0, sizeof em);
    int check_reg = 0;
    err e;
    err_clear(&e);
    out_mode mode = OUT_TEXT;
    const char *path = NULL;
    int threads = 0, rc = EXIT_REJECTED;
    char msg[700];

    if (provctx_preload(&pc, argc, argv))
        goto out;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int t = provctx_option(&pc, argc, argv, &i);
        if (t < 0)
            goto out;
        if (t > 0)
            continue;
        if (!strcmp(a, "--check-registry")) {
            check_reg = 1;
            continue;
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(help, stdout);
            fputs(provctx_help, stdout);
            fputs(jobopts_help, stdout);
            rc = EXIT_GOOD;
            goto out;
        }
        const char *v = NULL;
        if (!strncmp(a, "--output=", 9))
            v = a + 9;
        else if (!strcmp(a, "--output") || !strcmp(a, "-o"))
            v = i + 1 < argc ? argv[++i] : "";
        if (v) {
            if (!strcmp(v, "text"))
                mode = OUT_TEXT;
            else if (!strcmp(v, "json"))
                mode = OUT_JSON;
            else if (!strcmp(v, "tsv"))
                mode = OUT_TSV;
            else {
                cli_error("--output: expected text, json or tsv, got '%s'", v);
                goto out;
            }
            continue;
        }
        if (!strncmp(a, "--threads", 9)) {
            const char *n = a[9] == '=' ? a + 10 : i + 1 < argc ? argv[++i] : "";
            char *end;
            long k = strtol(n, &end, 10);
            if (!*n || *end || k < 1 || k > 16) {
                cli_error("--threads: expected a number from 1 to 16, got '%s'", n);
                goto out;
            }
            threads = (int)k;
            continue;
        }
        if (a[0] == '-' && a[1]) {
            cli_error("validate: unknown option '%s' (try 'thingpress validate --help')",
                      a);
            goto out;
        }
        if (path) {
            cli_error("validate: one FILE only ('%s' and '%s')", path, a);
            goto out;
        }
        path = a;
    }
    if (!path) {
        cli_error("validate: missing FILE (try 'thingpress validate --help')");
        goto out;
    }
    if (jobcfg_check(&pc.cfg, &e)) {
        cli_error("%s", err_format(&e, msg, sizeof msg));
        goto out;
    }

    scan_opts so = {0};
    so.src.vendor = pc.cfg.vendor;
    so.src.infineon_bundle = pc.cfg.infineon_bundle;
    so.src.microchip_signers = pc.cfg.microchip_signers;
    so.val.has_thing_type = pc.cfg.thing_type != NULL;
    so.threads = threads;

    em.mode = mode;
    em.out = stdout;
    em.first = 1;
    const char *nc = getenv("NO_COLOR");
    em.color = mode == OUT_TEXT && isatty(fileno(stdout)) && !(nc && *nc);
    static char obuf[1 << 16];
    setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
    if (check_reg && regfold_check(&pc, path, &so, &em.reg, &em.n_reg, &em.phase)) {
        rc = EXIT_REJECTED;
        goto out;
    }

    if (mode == OUT_JSON) {
        buf h = BUF_INIT;
        buf_puts(&h, "{\n  \"file\": ");
        buf_json_str(&h, path);
        buf_puts(&h, ",\n  \"items\": [");
        fwrite(h.data, 1, h.len, stdout);
        buf_free(&h);
    }
    scan_summary sum;
    int src = scan_file(&sum, path, &so, emit, &em, &e);
    buf_free(&em.line);
    if (em.reg) { /* the registry's verdicts */
        sum.ok = em.ok;
        sum.warn = em.warn;
        sum.error = em.error;
    }

    if (mode == OUT_JSON) {
        buf t = BUF_INIT;
        buf_puts(&t, em.first ? "],\n" : "\n  ],\n");
        buf_printf(&t, "  \"vendor\": \"%s\",\n  \"phase\": %d,\n",
                   vendor_name(sum.vendor), vendor_is_phase2(sum.vendor) ? 2 : 1);
        buf_puts(&t, "  \"batch_id\": ");
        if (sum.batch_id[0])
            buf_json_str(&t, sum.batch_id);
        else
            buf_puts(&t, "null");
        buf_puts(&t, ",\n  \"notes\": [");
        int first = 1;
        for (char *p = sum.notes; p && *p;) {
            char *nl = strchr(p, '\n');
            size_t n = nl ? (size_t)(nl - p) : strlen(p);
            char one[512];
            snprintf(one, sizeof one, "%.*s", (int)n, p);
            buf_puts(&t, first ? "" : ", ");
            buf_json_str(&t, one);
            first = 0;
            p += n + (nl ? 1 : 0);
        }
        buf_puts(&t, "],\n  \"rejected\": ");
        if (src)
            buf_json_str(&t, err_format(&e, msg, sizeof msg));
        else
            buf_puts(&t, "null");
        buf_printf(&t,
                   ",\n  \"summary\": {\"total\": %zu, \"ok\": %zu, \"warn\": %zu, "
                   "\"error\": %zu}\n}\n",
                   sum.total, sum.ok, sum.warn, sum.error);
        fwrite(t.data, 1, t.len, stdout);
        buf_free(&t);
    } else if (mode == OUT_TEXT && !src) {
        if (em.hidden)
            printf("  ... and %zu more problem items (use --output tsv for all)\n",
                   em.hidden);
        for (char *p = sum.notes; p && *p;) {
            char *nl = strchr(p, '\n');
            size_t n = nl ? (size_t)(nl - p) : strlen(p);
            printf("  note: %.*s\n", (int)n, p);
            p += n + (nl ? 1 : 0);
        }
        printf("%s: %s", path, phase_text(sum.vendor));
        if (sum.vendor != VENDOR_DEVICE_INFOS)
            printf(", %s", vendor_name(sum.vendor));
        if (sum.batch_id[0])
            printf(", batch %s", sum.batch_id);
        printf("\n%s%zu items: %zu ok, %zu warn, %zu error%s\n",
               em.color ? (sum.error ? "\033[1;31m" : "\033[1;32m") : "", sum.total,
               sum.ok, sum.warn, sum.error, em.color ? "\033[0m" : "");
        if (sum.error)
            printf("The file has invalid items: fix them before provisioning.\n");
    }
    fflush(stdout);
    if (src) {
        cli_error("%s", err_format(&e, msg, sizeof msg));
        rc = EXIT_REJECTED;
    } else {
        rc = sum.error ? EXIT_ITEMS : EXIT_GOOD;
    }
    scan_summary_free(&sum);
out:
    free(em.reg);
    provctx_free(&pc);
    return rc;
}
