/* The file picker: a folder's entries, each file probed in the background
 * for its kind and item count (console/picker.h, the prober). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "console/screens/screens.h"
#include "console/text.h"

static const km_binding keys[] = {
    {KM_F(6), ACT_SAMPLES}, {'~', ACT_SAMPLES}, {KM_BACKSPACE, ACT_LEFT},
    {KM_DEL, ACT_LEFT},     {8, ACT_LEFT},      {KM_NONE, ACT_NONE},
};

static const screen_bar bar[] = {
    {KM_F(1), ACT_HELP, "Help"},
    {KM_F(2), ACT_JOBS, "Jobs"},
    {KM_F(6), ACT_SAMPLES, "Samples"},
    {KM_ENTER, ACT_ENTER, "Choose"},
    {KM_BACKSPACE, ACT_LEFT, "Up"},
    {'/', ACT_SEARCH, "Search"},
    {KM_ESC, ACT_BACK, "Back"},
    {KM_F(10), ACT_QUIT, "Quit"},
    {0, ACT_NONE, NULL},
};

static const screen_help_line help[] = {
    {ACT_ENTER, "open the folder / choose the file"},
    {ACT_LEFT, "the parent folder"},
    {ACT_SAMPLES, "the bundled sample files"},
    {ACT_BACK, "back"},
    {ACT_NONE, NULL},
};

static void about(buf *out)
{
    buf_puts(out,
             "Pick the file to provision: a vendor file (Phase 1: register "
             "certificates) or a device-infos file from the MES (Phase 2: activate and "
             "create things). Supported files show their kind and item count. F6 opens "
             "the bundled sample files.");
}

/* ---- actions ---- */

/* "a/b" + "c" = "a/b/c"; "/" + "c" = "/c". */
static char *path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir);
    int slash = n > 0 && dir[n - 1] == '/';
    size_t len = n + strlen(name) + 2;
    char *p = xmalloc(len);
    snprintf(p, len, "%s%s%s", dir, slash ? "" : "/", name);
    return p;
}

/* The parent folder of dir ("/a/b" -> "/a", "/a" -> "/", "a" -> "."), and in
 * *base the last component (borrowed from dir). */
static char *path_parent(const char *dir, const char **base)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    size_t k = n;
    while (k > 0 && dir[k - 1] != '/')
        k--;
    if (base)
        *base = dir + k;
    if (k == 0)
        return xstrdup(".");
    while (k > 1 && dir[k - 1] == '/')
        k--;
    return xstrndup(dir, k);
}

static int change_dir(app *a, char *dir, const char *select)
{
    free(a->pick.dir);
    a->pick.dir = dir;
    pk_entries_free(a->pick.v, a->pick.n);
    a->pick.v = NULL;
    a->pick.n = 0;
    memset(&a->pick.l, 0, sizeof a->pick.l);
    snprintf(a->pick.select, sizeof a->pick.select, "%s", select ? select : "");
    a->pick.error[0] = '\0';
    return RX_DIRTY | RX_LOAD_DIR;
}

static int picker_act(app *a, act x)
{
    const pk_entry *en = a->pick.n ? &a->pick.v[a->pick.l.sel] : NULL;
    switch (x.type) {
    case ACT_ENTER:
    case ACT_RIGHT:
        if (!en)
            return RX_NONE;
        switch (en->kind) {
        case PK_PARENT:
            return picker_act(a, (act){ACT_LEFT, 0});
        case PK_SAMPLES:
            return change_dir(a, xstrdup(en->name), NULL);
        case PK_DIR:
            return change_dir(a, path_join(a->pick.dir, en->name), NULL);
        case PK_FILE:
            if (en->probed && !en->supported) {
                app_message(a, 1, "%s: %s", en->name,
                            en->note[0] ? en->note : "not a file thingpress reads");
                return RX_DIRTY;
            }
            {
                char *path = path_join(a->pick.dir, en->name);
                int rx = app_choose_file(a, path, en->probed ? en->vendor : VENDOR_AUTO,
                                         en->probed ? en->count : -1);
                free(path);
                return rx;
            }
        }
        return RX_NONE;
    case ACT_LEFT: {
        const char *base;
        char *parent = path_parent(a->pick.dir, &base);
        char sel[256];
        snprintf(sel, sizeof sel, "%s", base);
        return change_dir(a, parent, sel);
    }
    case ACT_SAMPLES:
        if (!a->samples_dir) {
            app_message(a, 1,
                        "the bundled samples were not found (set THINGPRESS_SAMPLES "
                        "or start from the source tree)");
            return RX_DIRTY;
        }
        return change_dir(a, xstrdup(a->samples_dir), NULL);
    case ACT_BACK:
        if (a->pick.back == APP_PICK || (a->pick.back != APP_JOBS && !a->file.path))
            return app_go_jobs(a);
        a->screen = a->pick.back;
        return RX_DIRTY | (a->screen == APP_JOBS ? RX_LOAD_JOBS : 0);
    default:
        return RX_NONE;
    }
}

static app_list *picker_list(app *a, size_t *n)
{
    *n = a->pick.n;
    return &a->pick.l;
}

static long picker_page_rows(const app *a)
{
    return a->h - 5;
}

static int picker_row_text(app *a, size_t i, char *out, size_t n)
{
    snprintf(out, n, "%s", a->pick.v[i].name);
    return 1;
}

/* ---- rows ---- */

static void build_picker(vm *v, const app *a)
{
    vm_line l = vm_line_start(v, 1, ROLE_NORMAL, a->utf8);
    vm_text(&l, "Folder: ", ROLE_LABEL);
    buf t = BUF_INIT;
    tx_fit_tail(&t, a->pick.dir, v->w - l.col, a->utf8);
    vm_text(&l, t.data ? t.data : "", -1);
    buf_free(&t);
    vm_line_end(&l);

    int wkind = 22, witems = 9, wsize = 9;
    int wname = v->w - 2 - wkind - witems - wsize - 3;
    if (wname < 16)
        wname = 16;
    vm_line h = vm_line_start(v, 2, ROLE_HEADER, a->utf8);
    vm_cell(&h, "  Name", wname + 3, TX_LEFT, -1);
    vm_cell(&h, "Kind", wkind, TX_LEFT, -1);
    vm_cell(&h, "Items", witems, TX_RIGHT, -1);
    vm_cell(&h, "Size", wsize, TX_RIGHT, -1);
    vm_cell(&h, "", -1, TX_LEFT, -1);
    vm_line_end(&h);

    size_t page = app_page_rows(a, APP_PICK);
    int y = 3;
    if (a->pick.error[0] && !a->pick.n) {
        vm_text_rowf(v, y++, ROLE_ERROR, a->utf8, "  %s", a->pick.error);
    } else if (!a->pick.v) {
        vm_text_row(v, y++, ROLE_DIM, a->utf8, "  Loading...");
    }
    for (size_t i = a->pick.l.top; i < a->pick.n && y < 3 + (int)page; i++, y++) {
        const pk_entry *e = &a->pick.v[i];
        int sel = i == a->pick.l.sel;
        vm_line r = vm_line_start(v, y, sel ? ROLE_SELECTED : ROLE_NORMAL, a->utf8);
        char name[1100], kind[64] = "", items[32] = "", size[32] = "";
        int krole = -1;
        switch (e->kind) {
        case PK_PARENT:
            snprintf(name, sizeof name, "../");
            snprintf(kind, sizeof kind, "parent folder");
            krole = ROLE_DIM;
            break;
        case PK_SAMPLES:
            snprintf(name, sizeof name, "%s Bundled samples/",
                     a->utf8 ? "\xe2\x98\x85" : "*");
            snprintf(kind, sizeof kind, "sample files");
            krole = ROLE_DIM;
            break;
        case PK_DIR:
            snprintf(name, sizeof name, "%s/", e->name);
            snprintf(kind, sizeof kind, "folder");
            krole = ROLE_DIM;
            break;
        case PK_FILE:
            snprintf(name, sizeof name, "%s", e->name);
            if (!e->probed) {
                snprintf(kind, sizeof kind, "...");
                krole = ROLE_DIM;
            } else if (!e->supported) {
                snprintf(kind, sizeof kind, "-");
                krole = ROLE_DIM;
            } else {
                snprintf(kind, sizeof kind, "%s  Phase %d", vendor_name(e->vendor),
                         vendor_is_phase2(e->vendor) ? 2 : 1);
                krole = ROLE_OK;
                if (e->count >= 0)
                    snprintf(items, sizeof items, "%lld", e->count);
                else
                    snprintf(items, sizeof items, "?");
            }
            tx_short_num(size, sizeof size, (double)e->size);
            break;
        }
        vm_cell(&r, "  ", 2, TX_LEFT, -1);
        vm_cell(&r, name, wname, TX_LEFT,
                !sel && e->kind == PK_FILE && e->probed && !e->supported ? ROLE_DIM : -1);
        vm_cell(&r, " ", 1, TX_LEFT, -1);
        vm_cell(&r, kind, wkind, TX_LEFT, sel ? -1 : krole);
        vm_cell(&r, items, witems, TX_RIGHT, -1);
        vm_cell(&r, size, wsize, TX_RIGHT, -1);
        vm_line_end(&r);
    }
    for (; y < v->h - 2; y++)
        vm_blank(v, y, a->utf8);
}

static const char *picker_hint(const app *a, char *buf, size_t n)
{
    (void)buf, (void)n;
    const pk_entry *e = a->pick.n ? &a->pick.v[a->pick.l.sel] : NULL;
    if (e && e->kind == PK_FILE && e->probed && !e->supported)
        return e->note[0] ? e->note : "not a file thingpress reads";
    if (e && e->kind == PK_FILE && e->probed && e->note[0])
        return e->note;
    return "Enter chooses a file or opens a folder; Backspace goes up; F6 bundled "
           "samples";
}

const screen_ops screen_picker = {
    .title = "Open a file",
    .build = build_picker,
    .hint = picker_hint,
    .bar = bar,
    .keys = keys,
    .act = picker_act,
    .list = picker_list,
    .page_rows = picker_page_rows,
    .row_text = picker_row_text,
    .about = about,
    .help = help,
};
