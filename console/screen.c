/* The console's only curses code (see screen.h). */
#include "console/screen.h"

#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "console/keymap.h"

struct scr {
    SCREEN *sp;
    FILE *out, *in; /* the virtual terminal's /dev/null streams */
    int is_virtual;
    int color;
    int full_redraw;
    attr_t attr[ROLE_COUNT];
    short pair[ROLE_COUNT];
};

/* Colors by role: foreground, background (-1 = the terminal's default),
 * attributes with colors, attributes without (NO_COLOR, monochrome). */
static const struct {
    short fg, bg;
    attr_t with_color, mono;
} styles[ROLE_COUNT] = {
    [ROLE_NORMAL] = {-1, -1, A_NORMAL, A_NORMAL},
    [ROLE_TITLE] = {COLOR_WHITE, COLOR_BLUE, A_BOLD, A_REVERSE | A_BOLD},
    [ROLE_HEADER] = {COLOR_BLACK, COLOR_GREEN, A_NORMAL, A_BOLD | A_UNDERLINE},
    [ROLE_SELECTED] = {COLOR_BLACK, COLOR_CYAN, A_NORMAL, A_REVERSE},
    [ROLE_DIM] = {COLOR_BLUE, -1, A_BOLD, A_DIM},
    [ROLE_OK] = {COLOR_GREEN, -1, A_NORMAL, A_NORMAL},
    [ROLE_WARN] = {COLOR_YELLOW, -1, A_BOLD, A_BOLD},
    [ROLE_ERROR] = {COLOR_RED, -1, A_BOLD, A_BOLD | A_UNDERLINE},
    [ROLE_KEY] = {COLOR_WHITE, COLOR_BLACK, A_BOLD, A_BOLD},
    [ROLE_KEYLABEL] = {COLOR_BLACK, COLOR_CYAN, A_NORMAL, A_REVERSE},
    [ROLE_BAR_DONE] = {COLOR_GREEN, -1, A_BOLD, A_BOLD},
    [ROLE_BAR_TODO] = {-1, -1, A_DIM, A_DIM},
    [ROLE_INPUT] = {COLOR_YELLOW, -1, A_BOLD, A_BOLD | A_UNDERLINE},
    [ROLE_DIALOG] = {COLOR_BLACK, COLOR_WHITE, A_NORMAL, A_REVERSE},
    [ROLE_TARGET] = {COLOR_CYAN, -1, A_BOLD, A_BOLD},
    [ROLE_LABEL] = {-1, -1, A_BOLD, A_BOLD},
};

static int no_color_env(void)
{
    const char *v = getenv("NO_COLOR");
    return v && *v;
}

static void setup_styles(scr *s, int want_color)
{
    s->color = want_color && !no_color_env() && has_colors();
    if (s->color) {
        start_color();
        use_default_colors();
    }
    for (int r = 0; r < ROLE_COUNT; r++) {
        if (s->color) {
            s->pair[r] = (short)(r + 1);
            init_pair(s->pair[r], styles[r].fg, styles[r].bg);
            s->attr[r] = styles[r].with_color;
        } else {
            s->pair[r] = 0;
            s->attr[r] = styles[r].mono;
        }
    }
}

static void setup_input(void)
{
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    scrollok(stdscr, FALSE);
    set_escdelay(25);
    curs_set(0);
}

int scr_open(scr **out, int color, err *e)
{
    *out = NULL;
    scr *s = xcalloc(1, sizeof *s);
    s->sp = newterm(NULL, stdout, stdin);
    if (!s->sp) {
        err_set(e, ERR_IO, NULL, 0, -1, "cannot use this terminal (TERM=%s)",
                getenv("TERM") ? getenv("TERM") : "");
        free(s);
        return -1;
    }
    set_term(s->sp);
    setup_input();
    setup_styles(s, color);
    s->full_redraw = 1;
    *out = s;
    return 0;
}

int scr_open_virtual(scr **out, int h, int w, const char *term, int color, err *e)
{
    *out = NULL;
    scr *s = xcalloc(1, sizeof *s);
    s->is_virtual = 1;
    s->out = fopen("/dev/null", "w");
    s->in = fopen("/dev/null", "r");
    if (!s->out || !s->in) {
        err_set(e, ERR_IO, "/dev/null", 0, -1, "cannot open");
        goto fail;
    }
    s->sp = newterm(term ? term : "xterm-256color", s->out, s->in);
    if (!s->sp) {
        err_set(e, ERR_IO, NULL, 0, -1, "no terminfo entry for %s",
                term ? term : "xterm-256color");
        goto fail;
    }
    set_term(s->sp);
    setup_input();
    setup_styles(s, color);
    resizeterm(h, w);
    s->full_redraw = 1;
    *out = s;
    return 0;
fail:
    if (s->out)
        fclose(s->out);
    if (s->in)
        fclose(s->in);
    free(s);
    return -1;
}

void scr_close(scr *s)
{
    if (!s)
        return;
    set_term(s->sp);
    curs_set(1);
    endwin();
    delscreen(s->sp);
    if (s->out)
        fclose(s->out);
    if (s->in)
        fclose(s->in);
    free(s);
}

void scr_size(scr *s, int *h, int *w)
{
    (void)s;
    getmaxyx(stdscr, *h, *w);
}

void scr_resize(scr *s, int h, int w)
{
    if (s->is_virtual)
        resizeterm(h, w);
    s->full_redraw = 1;
}

void scr_invalidate(scr *s)
{
    s->full_redraw = 1;
}

static int translate(int code)
{
    switch (code) {
    case KEY_UP:
        return KM_UP;
    case KEY_DOWN:
        return KM_DOWN;
    case KEY_LEFT:
        return KM_LEFT;
    case KEY_RIGHT:
        return KM_RIGHT;
    case KEY_PPAGE:
        return KM_PGUP;
    case KEY_NPAGE:
        return KM_PGDN;
    case KEY_HOME:
        return KM_HOME;
    case KEY_END:
        return KM_END;
    case KEY_BACKSPACE:
        return KM_BACKSPACE;
    case KEY_BTAB:
        return KM_BTAB;
    case KEY_ENTER:
        return KM_ENTER;
    case KEY_RESIZE:
        return KM_RESIZE;
    default:
        if (code >= KEY_F(1) && code <= KEY_F(24))
            return KM_F(code - KEY_F0);
        return KM_NONE;
    }
}

int scr_key(scr *s, int timeout_ms)
{
    if (s->is_virtual)
        return KM_NONE;
    wtimeout(stdscr, timeout_ms);
    wint_t ch;
    int r = wget_wch(stdscr, &ch);
    if (r == ERR)
        return KM_NONE;
    if (r == KEY_CODE_YES) {
        int k = translate((int)ch);
        if (k == KM_RESIZE)
            s->full_redraw = 1;
        return k;
    }
    return (int)ch;
}

void scr_draw(scr *s, const vm *v)
{
    int h, w;
    getmaxyx(stdscr, h, w);
    if (s->full_redraw) {
        clearok(stdscr, TRUE);
        s->full_redraw = 0;
    }
    for (int y = 0; y < v->h && y < h; y++) {
        const vm_row *r = &v->rows[y];
        wattr_set(stdscr, s->attr[r->role], s->pair[r->role], NULL);
        wmove(stdscr, y, 0);
        waddstr(stdscr, r->text ? r->text : "");
        /* a row is exactly the width; the bottom-right cell cannot advance
         * the cursor, which curses reports as an error: ignore it */
        wclrtoeol(stdscr);
        for (int i = 0; i < r->n_spans; i++) {
            const vm_span *sp = &r->spans[i];
            int len = sp->col + sp->len > w ? w - sp->col : sp->len;
            if (len > 0)
                mvwchgat(stdscr, y, sp->col, len, s->attr[sp->role], s->pair[sp->role],
                         NULL);
        }
    }
    wattr_set(stdscr, A_NORMAL, 0, NULL);
    if (v->cursor_y >= 0 && v->cursor_y < h) {
        curs_set(1);
        wmove(stdscr, v->cursor_y, v->cursor_x < w ? v->cursor_x : w - 1);
    } else {
        curs_set(0);
    }
    wnoutrefresh(stdscr);
    doupdate();
}

int scr_read_row(scr *s, int y, char *out, size_t n)
{
    (void)s;
    int h, w;
    getmaxyx(stdscr, h, w);
    if (y < 0 || y >= h || n == 0)
        return -1;
    /* mvwinnstr reads the multibyte text of the cells */
    int k = mvwinnstr(stdscr, y, 0, out, (int)(n - 1));
    if (k == ERR)
        return -1;
    out[n - 1] = '\0';
    (void)w;
    return 0;
}

int scr_role_at(scr *s, int y, int x)
{
    cchar_t c;
    if (mvwin_wch(stdscr, y, x, &c) == ERR)
        return -1;
    wchar_t wc[CCHARW_MAX + 1];
    attr_t at;
    short pair;
    if (getcchar(&c, wc, &at, &pair, NULL) == ERR)
        return -1;
    at &= ~A_CHARTEXT;
    for (int r = 0; r < ROLE_COUNT; r++)
        if (s->pair[r] == pair && (s->attr[r] & ~A_COLOR) == (at & ~A_COLOR))
            return r;
    return -1;
}

int scr_has_color(const scr *s)
{
    return s->color;
}

const char *scr_curses_version(void)
{
    return curses_version();
}
