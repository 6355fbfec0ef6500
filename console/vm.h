/* vm - view models: what each screen shows, as rows of text with roles (the
 * third layer: keymap -> actions -> view models -> screen).
 *
 * Design: vm_build() turns the app state into exactly h rows of exactly w
 * display columns each (text already truncated and padded, UTF-8), a role
 * per row and a few spans that give a part of a row another role (the key
 * names of the function-key bar, a verdict column, the done part of the
 * progress bar). The screen module only paints them, so tests assert on the
 * exact text and roles of every row without a terminal. Colors are chosen by
 * role in the screen module, never here. vm.c draws the frame (title bar,
 * status line, function-key bar, dialogs); the body is the screen's own
 * build op (console/screens/<name>.c).
 *
 * Threading: UI thread (or any thread, on its own vm). Ownership: a vm owns
 * its rows; vm_build reuses them. */
#ifndef TP_CONSOLE_VM_H
#define TP_CONSOLE_VM_H

#include <stddef.h>

#include "console/app.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VM_ROLES(X)                                                                      \
    X(ROLE_NORMAL, "normal")                                                             \
    X(ROLE_TITLE, "title")       /* the top bar */                                       \
    X(ROLE_HEADER, "header")     /* table column names */                                \
    X(ROLE_SELECTED, "selected") /* the selected row */                                  \
    X(ROLE_DIM, "dim")           /* secondary text */                                    \
    X(ROLE_OK, "ok")                                                                     \
    X(ROLE_WARN, "warn")                                                                 \
    X(ROLE_ERROR, "error")                                                               \
    X(ROLE_KEY, "key")           /* a key name in the bottom bar */                      \
    X(ROLE_KEYLABEL, "keylabel") /* its label */                                         \
    X(ROLE_BAR_DONE, "bar_done") /* the done part of a progress bar */                   \
    X(ROLE_BAR_TODO, "bar_todo")                                                         \
    X(ROLE_INPUT, "input") /* a field being edited */                                    \
    X(ROLE_DIALOG, "dialog")                                                             \
    X(ROLE_TARGET, "target") /* the endpoint and account a job touches */                \
    X(ROLE_LABEL, "label")   /* form labels */

typedef enum {
#define VM_ROLE_ENUM(id, name) id,
    VM_ROLES(VM_ROLE_ENUM)
#undef VM_ROLE_ENUM
        ROLE_COUNT
} vm_role;

const char *vm_role_name(vm_role r);

#define VM_MAX_SPANS 16

typedef struct vm_span {
    int col, len; /* display columns */
    vm_role role;
} vm_span;

typedef struct vm_row {
    char *text; /* exactly w columns of UTF-8 (owned) */
    vm_role role;
    int n_spans;
    vm_span spans[VM_MAX_SPANS];
} vm_row;

typedef struct vm {
    int h, w;
    vm_row *rows;
    int cursor_y, cursor_x; /* the text cursor, -1 when hidden */
} vm;

void vm_init(vm *v);
void vm_free(vm *v);

/* Rebuilds v from the app for a h x w screen (a->h, a->w). */
void vm_build(vm *v, const app *a);

/* 1 when a and b would draw the same screen (for redraw-only-if-changed). */
int vm_equal(const vm *a, const vm *b);
/* Copies src into dst (dst's rows are reused). */
void vm_copy(vm *dst, const vm *src);

/* The role at column col of row y (spans win over the row's role). */
vm_role vm_role_at(const vm *v, int y, int col);

/* The function-key bar of a keymap context (for tests: every entry's key
 * must map to its action): fills up to max keys and actions, returns the
 * count. */
size_t vm_bar(km_ctx ctx, int *keys, act_type *acts, size_t max);

/* The help page's lines for a screen (for tests): each line "KEYS  TEXT". */
size_t vm_help_lines(const app *a, char ***lines);

#ifdef __cplusplus
}
#endif
#endif
