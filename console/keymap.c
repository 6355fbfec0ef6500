/* Keys to actions (see keymap.h): the generic, text field and dialog tables;
 * each screen's own is in its file. */
#include "console/keymap.h"

#include <stdio.h>

#include "console/screens/screens.h"

#define END_TABLE                                                                        \
    {                                                                                    \
        KM_NONE, ACT_NONE                                                                \
    }

/* Lists and pages: arrows and vi keys, htop's function keys. */
static const km_binding generic_keys[] = {
    {KM_F(1), ACT_HELP},      {'?', ACT_HELP},     {KM_F(2), ACT_JOBS},
    {KM_F(3), ACT_OPEN},      {'o', ACT_OPEN},     {KM_F(10), ACT_QUIT},
    {'q', ACT_QUIT},          {KM_UP, ACT_UP},     {'k', ACT_UP},
    {KM_DOWN, ACT_DOWN},      {'j', ACT_DOWN},     {KM_PGUP, ACT_PGUP},
    {KM_CTRL('b'), ACT_PGUP}, {KM_PGDN, ACT_PGDN}, {KM_CTRL('f'), ACT_PGDN},
    {KM_HOME, ACT_HOME},      {'g', ACT_HOME},     {KM_END, ACT_END},
    {'G', ACT_END},           {KM_LEFT, ACT_LEFT}, {'h', ACT_LEFT},
    {KM_RIGHT, ACT_RIGHT},    {'l', ACT_RIGHT},    {KM_ENTER, ACT_ENTER},
    {'\n', ACT_ENTER},        {KM_ESC, ACT_BACK},  {KM_TAB, ACT_TAB},
    {KM_BTAB, ACT_TAB},       {'/', ACT_SEARCH},   {'n', ACT_SEARCH_NEXT},
    {KM_RESIZE, ACT_RESIZE},  END_TABLE,
};

static const km_binding text[] = {
    {KM_ENTER, ACT_ENTER},         {'\n', ACT_ENTER},       {KM_ESC, ACT_BACK},
    {KM_BACKSPACE, ACT_BACKSPACE}, {KM_DEL, ACT_BACKSPACE}, {8, ACT_BACKSPACE},
    {KM_CTRL('u'), ACT_CLEAR},     {KM_RESIZE, ACT_RESIZE}, END_TABLE,
};

static const km_binding dialog[] = {
    {'y', ACT_YES},     {'Y', ACT_YES},        {'n', ACT_NO},           {'N', ACT_NO},
    {KM_ESC, ACT_NO},   {KM_ENTER, ACT_ENTER}, {'\n', ACT_ENTER},       {KM_TAB, ACT_TAB},
    {KM_LEFT, ACT_TAB}, {KM_RIGHT, ACT_TAB},   {KM_RESIZE, ACT_RESIZE}, END_TABLE,
};

/* The table of ctx (NULL when none) and whether the generic one follows:
 * a screen's own keys are in its file (console/screens/). */
static const km_binding *table_of(km_ctx ctx, int *generic)
{
    *generic = 0;
    if (ctx == KMC_TEXT)
        return text;
    if (ctx == KMC_DIALOG)
        return dialog;
    const screen_ops *o = screen_of_ctx(ctx);
    if (!o)
        return NULL;
    *generic = !o->own_keys_only;
    return o->keys;
}

static act_type lookup(const km_binding *t, int key)
{
    for (; t && t->key != KM_NONE; t++)
        if (t->key == key)
            return t->act;
    return ACT_NONE;
}

act km_map(km_ctx ctx, int key)
{
    act a = {ACT_NONE, 0};
    if (ctx < 0 || ctx >= KMC_COUNT || key == KM_NONE)
        return a;
    int generic;
    const km_binding *own = table_of(ctx, &generic);
    a.type = lookup(own, key);
    if (a.type == ACT_NONE && ctx == KMC_TEXT && key >= 0x20 && key != KM_DEL &&
        key < KM_BASE) {
        a.type = ACT_CHAR;
        a.ch = (unsigned)key;
    }
    if (a.type == ACT_NONE && generic)
        a.type = lookup(generic_keys, key);
    return a;
}

void km_key_name(char *out, size_t n, int key)
{
    static const struct {
        int key;
        const char *name;
    } names[] = {
        {KM_UP, "Up"},       {KM_DOWN, "Down"},   {KM_LEFT, "Left"},
        {KM_RIGHT, "Right"}, {KM_PGUP, "PgUp"},   {KM_PGDN, "PgDn"},
        {KM_HOME, "Home"},   {KM_END, "End"},     {KM_BACKSPACE, "Backspace"},
        {KM_BTAB, "S-Tab"},  {KM_ENTER, "Enter"}, {KM_ESC, "Esc"},
        {KM_TAB, "Tab"},     {' ', "Space"},      {KM_DEL, "Backspace"},
        {'\n', "Enter"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (names[i].key == key) {
            snprintf(out, n, "%s", names[i].name);
            return;
        }
    }
    if (key > KM_F0 && key <= KM_F(24))
        snprintf(out, n, "F%d", key - KM_F0);
    else if (key > 0 && key < 0x20)
        snprintf(out, n, "Ctrl-%c", 'A' + key - 1);
    else if (key >= 0x20 && key < 0x7f)
        snprintf(out, n, "%c", key);
    else
        snprintf(out, n, "?");
}

size_t km_keys_of(km_ctx ctx, act_type a, int *keys, size_t max)
{
    size_t k = 0;
    if (ctx < 0 || ctx >= KMC_COUNT)
        return 0;
    int generic;
    const km_binding *own = table_of(ctx, &generic);
    for (const km_binding *t = own; t && t->key != KM_NONE; t++)
        if (t->act == a && k < max)
            keys[k++] = t->key;
    if (generic)
        for (const km_binding *t = generic_keys; t->key != KM_NONE; t++)
            if (t->act == a && k < max && lookup(own, t->key) == ACT_NONE)
                keys[k++] = t->key;
    return k;
}

const char *km_act_text(act_type a)
{
    static const char *const texts[] = {
#define ACT_TEXT(id, text) text,
        ACT_LIST(ACT_TEXT)
#undef ACT_TEXT
    };
    return a >= 0 && a < ACT_COUNT ? texts[a] : "";
}
