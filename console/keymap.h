/* keymap - keys to abstract actions (the first layer of the console:
 * keymap -> actions -> view models -> screen).
 *
 * Design: keys are plain ints: a Unicode code point for characters (control
 * characters included: 9 Tab, 13 Enter, 27 Esc), KM_* values above the
 * Unicode range for the keys curses names (arrows, function keys, resize).
 * The screen module translates curses' codes into these, so nothing here
 * includes curses and tests can send keys as data. Each screen has a small
 * table tried first (in the screen's own file, console/screens/), then the
 * generic one (tig's per-view keymaps); a text field and a dialog have their
 * own. The help page lists the keys from the same tables (km_keys_of), so
 * it cannot disagree with them; console_test checks that every entry of a
 * function-key bar maps to the action it shows.
 *
 * Threading: any thread; the tables are constant. */
#ifndef TP_CONSOLE_KEYMAP_H
#define TP_CONSOLE_KEYMAP_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    KM_NONE = 0,
    KM_TAB = 9,
    KM_ENTER = 13,
    KM_ESC = 27,
    KM_DEL = 127,
    KM_BASE = 0x200000, /* above Unicode */
    KM_UP,
    KM_DOWN,
    KM_LEFT,
    KM_RIGHT,
    KM_PGUP,
    KM_PGDN,
    KM_HOME,
    KM_END,
    KM_BACKSPACE,
    KM_BTAB,
    KM_RESIZE,
    KM_F0 = KM_BASE + 0x100, /* KM_F0 + n is Fn */
};
#define KM_F(n) (KM_F0 + (n))
#define KM_CTRL(c) ((c)&0x1f)

/* Abstract actions. The comment is the help text's wording. */
#define ACT_LIST(X)                                                                      \
    X(ACT_NONE, "")                                                                      \
    X(ACT_UP, "move up")                                                                 \
    X(ACT_DOWN, "move down")                                                             \
    X(ACT_PGUP, "page up")                                                               \
    X(ACT_PGDN, "page down")                                                             \
    X(ACT_HOME, "first row")                                                             \
    X(ACT_END, "last row")                                                               \
    X(ACT_LEFT, "left / parent folder")                                                  \
    X(ACT_RIGHT, "right / open")                                                         \
    X(ACT_ENTER, "open / choose / edit")                                                 \
    X(ACT_BACK, "back / cancel")                                                         \
    X(ACT_TAB, "next pane")                                                              \
    X(ACT_HELP, "help")                                                                  \
    X(ACT_QUIT, "quit")                                                                  \
    X(ACT_JOBS, "jobs")                                                                  \
    X(ACT_OPEN, "open a file")                                                           \
    X(ACT_SAMPLES, "bundled samples")                                                    \
    X(ACT_FILTER, "problems only / all")                                                 \
    X(ACT_START, "start")                                                                \
    X(ACT_PAUSE, "pause")                                                                \
    X(ACT_CANCEL, "cancel the run")                                                      \
    X(ACT_EXPORT, "export the report")                                                   \
    X(ACT_CHECK, "check the registry (read-only)")                                       \
    X(ACT_SEARCH, "search")                                                              \
    X(ACT_SEARCH_NEXT, "next match")                                                     \
    X(ACT_TOGGLE, "toggle")                                                              \
    X(ACT_YES, "yes")                                                                    \
    X(ACT_NO, "no")                                                                      \
    X(ACT_CHAR, "type")                                                                  \
    X(ACT_BACKSPACE, "delete a character")                                               \
    X(ACT_CLEAR, "clear the field")                                                      \
    X(ACT_RESIZE, "")                                                                    \
    X(ACT_INTERRUPT, "")

typedef enum {
#define ACT_ENUM(id, text) id,
    ACT_LIST(ACT_ENUM)
#undef ACT_ENUM
        ACT_COUNT
} act_type;

typedef struct act {
    act_type type;
    unsigned ch; /* ACT_CHAR: the code point */
} act;

/* Which table applies: a screen's (KMC_JOBS ... in the order of
 * console/screens/screens.def, so a screen's context is its app_screen
 * value), or a text field's or a dialog's. */
typedef enum {
#define SCREEN(id, ops) KMC_##id,
#include "console/screens/screens.def"
#undef SCREEN
    KMC_TEXT,   /* a text field being edited (search, form field) */
    KMC_DIALOG, /* a yes/no question */
    KMC_HELP,   /* the help page */
    KMC_COUNT
} km_ctx;

/* One key of a table: a screen's own table lives in the screen's file
 * (console/screens/), the generic, text field and dialog tables here. */
typedef struct km_binding {
    int key; /* KM_NONE ends a table */
    act_type act;
} km_binding;

/* The action of key in ctx (ACT_NONE when unbound). */
act km_map(km_ctx ctx, int key);

/* "F5", "Enter", "j", "Ctrl-U", "?" ... for the bar and the help page. */
void km_key_name(char *out, size_t n, int key);

/* The keys bound to an action in ctx (screen table, then generic), for help:
 * fills keys[] (up to max) and returns how many. */
size_t km_keys_of(km_ctx ctx, act_type a, int *keys, size_t max);

/* The help wording of an action ("" for internal ones). */
const char *km_act_text(act_type a);

#ifdef __cplusplus
}
#endif
#endif
