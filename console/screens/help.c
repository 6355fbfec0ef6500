/* The help page: over whichever screen is up (app.help), that screen's
 * paragraph and keys, then the keys of every screen. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "console/screens/screens.h"

static const km_binding keys[] = {
    {KM_UP, ACT_UP},     {'k', ACT_UP},        {KM_DOWN, ACT_DOWN},
    {'j', ACT_DOWN},     {KM_PGUP, ACT_PGUP},  {KM_PGDN, ACT_PGDN},
    {' ', ACT_PGDN},     {KM_HOME, ACT_HOME},  {'g', ACT_HOME},
    {KM_END, ACT_END},   {'G', ACT_END},       {KM_ESC, ACT_BACK},
    {'q', ACT_BACK},     {KM_F(1), ACT_BACK},  {KM_F(10), ACT_BACK},
    {'?', ACT_BACK},     {KM_ENTER, ACT_BACK}, {KM_RESIZE, ACT_RESIZE},
    {KM_NONE, ACT_NONE},
};

static const screen_bar bar[] = {
    {KM_UP, ACT_UP, "Scroll"},
    {KM_PGDN, ACT_PGDN, "Page"},
    {KM_ESC, ACT_BACK, "Close"},
    {0, ACT_NONE, NULL},
};

/* ---- actions ---- */

static int help_act(app *a, act x)
{
    switch (x.type) {
    case ACT_UP:
        if (a->help_top > 0)
            a->help_top--;
        return RX_DIRTY;
    case ACT_DOWN:
        a->help_top++;
        return RX_DIRTY;
    case ACT_PGUP:
        a->help_top = a->help_top > (size_t)a->h ? a->help_top - (size_t)a->h : 0;
        return RX_DIRTY;
    case ACT_PGDN:
        a->help_top += (size_t)(a->h > 4 ? a->h - 4 : 1);
        return RX_DIRTY;
    case ACT_HOME:
        a->help_top = 0;
        return RX_DIRTY;
    case ACT_END:
        a->help_top = (size_t)-1 / 2; /* the view model clamps it */
        return RX_DIRTY;
    case ACT_BACK:
        a->help = 0;
        return RX_DIRTY;
    default:
        return RX_NONE;
    }
}

/* ---- the page's lines ---- */

static void help_add(char ***v, size_t *n, const char *s)
{
    *v = xrealloc(*v, (*n + 1) * sizeof **v);
    (*v)[(*n)++] = xstrdup(s);
}

static const screen_help_line help_all[] = {
    {ACT_HELP, "this help"},
    {ACT_JOBS, "the jobs"},
    {ACT_OPEN, "open a file"},
    {ACT_UP, "move up"},
    {ACT_DOWN, "move down"},
    {ACT_PGUP, "page up"},
    {ACT_PGDN, "page down"},
    {ACT_HOME, "first row"},
    {ACT_END, "last row"},
    {ACT_SEARCH, "search the list"},
    {ACT_SEARCH_NEXT, "next match"},
    {ACT_QUIT, "quit (a running job stops safely)"},
    {ACT_NONE, NULL},
};

static void help_keys(char ***v, size_t *n, km_ctx ctx, const screen_help_line *e)
{
    for (; e->text; e++) {
        int keys[8];
        size_t nk = km_keys_of(ctx, e->act, keys, 8);
        if (!nk)
            continue;
        char line[256] = "  ", name[32], prev[32] = "";
        size_t len = 2;
        for (size_t j = 0; j < nk && len < 22; j++) {
            km_key_name(name, sizeof name, keys[j]);
            if (!strcmp(name, prev))
                continue; /* Enter and Ctrl-J, Backspace and DEL */
            len += (size_t)snprintf(line + len, sizeof line - len, "%s%s",
                                    len > 2 ? " " : "", name);
            snprintf(prev, sizeof prev, "%s", name);
        }
        while (len < 24 && len + 1 < sizeof line)
            line[len++] = ' ';
        line[len] = '\0';
        snprintf(line + len, sizeof line - len, "%s", e->text);
        help_add(v, n, line);
    }
}

static void help_para(char ***v, size_t *n, const char *text, int width)
{
    char **w;
    size_t k = vm_wrap(text, width, &w);
    for (size_t i = 0; i < k; i++)
        help_add(v, n, w[i]);
    vm_free_lines(w, k);
}

size_t vm_help_lines(const app *a, char ***out)
{
    char **v = NULL;
    size_t n = 0;
    const screen_ops *o = screen_get(a->screen);
    int width = a->w > 8 ? a->w - 4 : 4;
    buf about = BUF_INIT;
    if (o->about)
        o->about(&about);
    help_para(&v, &n, about.data ? about.data : "", width);
    buf_free(&about);
    help_add(&v, &n, "");
    help_add(&v, &n, "On this screen");
    if (o->help)
        help_keys(&v, &n, (km_ctx)a->screen, o->help);
    help_add(&v, &n, "");
    help_add(&v, &n, "Everywhere");
    help_keys(&v, &n, KMC_JOBS, help_all);
    help_add(&v, &n, "");
    help_para(&v, &n,
              "Colors: green ok / done, yellow warning / skipped / paused, red error / "
              "failed. NO_COLOR=1 turns colors off.",
              width);
    help_para(&v, &n,
              "Nothing is lost when the console quits or the terminal closes: the job "
              "stops after the calls in flight and resumes from the journal.",
              width);
    *out = v;
    return n;
}

/* ---- rows ---- */

static void build_help(vm *v, const app *a)
{
    char **lines;
    size_t n = vm_help_lines(a, &lines);
    int rows = v->h - 2;
    size_t top = a->help_top;
    if (n > (size_t)(rows - 1) && top > n - (size_t)(rows - 1))
        top = n - (size_t)(rows - 1);
    if (n <= (size_t)(rows - 1))
        top = 0;
    int y = 1;
    for (size_t i = top; i < n && y < v->h - 2; i++, y++) {
        vm_role r = ROLE_NORMAL;
        if (!strcmp(lines[i], "On this screen") || !strcmp(lines[i], "Everywhere"))
            r = ROLE_HEADER;
        vm_text_rowf(v, y, r, a->utf8, " %s", lines[i]);
    }
    for (; y < v->h - 2; y++)
        vm_blank(v, y, a->utf8);
    vm_free_lines(lines, n);
}

static const char *help_hint(const app *a, char *buf, size_t n)
{
    (void)a, (void)buf, (void)n;
    return "Esc closes the help.";
}

const screen_ops screen_help = {
    .title = "Help",
    .build = build_help,
    .hint = help_hint,
    .bar = bar,
    .keys = keys,
    .own_keys_only = 1,
    .act = help_act,
};
