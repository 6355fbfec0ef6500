/* The registry's state for every certificate of a file (see regfold.h). */
#include "cli/regfold.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/xalloc.h"
#include "cli/cmd.h"

typedef struct {
    char (*fps)[65];
    size_t *idx;
    size_t n, cap;
    size_t total;
} collected;

static int collect(void *ctx, item *it)
{
    collected *c = ctx;
    char tmp[256];
    const char *fp = it->is_device && it->given_fingerprint
                         ? item_fp_key(tmp, sizeof tmp, it->given_fingerprint)
                         : it->fingerprint;
    if (it->index + 1 > c->total)
        c->total = it->index + 1;
    if (!fp || strlen(fp) != 64)
        return 0;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 1024;
        c->fps = xrealloc(c->fps, c->cap * sizeof *c->fps);
        c->idx = xrealloc(c->idx, c->cap * sizeof *c->idx);
    }
    snprintf(c->fps[c->n], sizeof c->fps[c->n], "%s", fp);
    c->idx[c->n++] = it->index;
    return 0;
}

int regfold_check(provctx *pc, const char *path, const scan_opts *so, rc_result **reg,
                  size_t *n_reg, int *phase)
{
    err e;
    err_clear(&e);
    char msg[800];
    collected c = {0};
    scan_summary sum;
    if (scan_file(&sum, path, so, collect, &c, &e)) {
        cli_error("%s", err_format(&e, msg, sizeof msg));
        free(c.fps);
        free(c.idx);
        return -1;
    }
    *phase = vendor_is_phase2(sum.vendor) ? 2 : 1;
    scan_summary_free(&sum);
    if (!pc->cr.target.endpoint_url && provctx_connect(pc)) { /* not yet connected */
        free(c.fps);
        free(c.idx);
        return -1;
    }
    const char **fps = xcalloc(c.n ? c.n : 1, sizeof *fps);
    for (size_t i = 0; i < c.n; i++)
        fps[i] = c.fps[i];
    rc_opts ro = {.target = &pc->cr.target};
    regcheck *r = NULL;
    int rc = rc_start(&r, &ro, fps, c.idx, c.n, &e);
    free(fps);
    free(c.fps);
    free(c.idx);
    if (rc) {
        cli_error("%s: registry check: %s", path, err_format(&e, msg, sizeof msg));
        return -1;
    }
    *n_reg = c.total;
    *reg = xcalloc(c.total ? c.total : 1, sizeof **reg);
    int tty = isatty(fileno(stderr));
    for (int finished = 0; !finished;) {
        size_t checked, total;
        rc_status(r, &checked, &total, &finished);
        rc_result got[256];
        size_t k;
        while ((k = rc_take(r, got, 256)) > 0)
            for (size_t i = 0; i < k; i++)
                if (got[i].idx < *n_reg)
                    (*reg)[got[i].idx] = got[i];
        if (tty && !finished)
            fprintf(stderr, "\r\033[Kchecking the registry: %zu of %zu", checked, total);
        if (!finished)
            usleep(100000);
    }
    if (tty)
        fputs("\r\033[K", stderr);
    rc_free(r);
    return 0;
}
