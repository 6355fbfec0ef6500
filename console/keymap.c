/* Keys to actions (see keymap.h). */
#include "console/keymap.h"

#include <stdio.h>

typedef struct {
    int key;
    act_type act;
} binding;

#define END_TABLE                                                                        \
    {                                                                                    \
        KM_NONE, ACT_NONE                                                                \
    }

/* Lists and pages: arrows and vi keys, htop's function keys. */
static const binding generic[] = {
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

static const binding jobs[] = {
    {KM_F(5), ACT_START},
    {'r', ACT_START},
    END_TABLE,
};

static const binding items[] = {
    {KM_F(4), ACT_FILTER},
    {'f', ACT_FILTER},
    {KM_F(5), ACT_START},
    {'r', ACT_START},
    {KM_F(6), ACT_EXPORT},
    {'e', ACT_EXPORT},
    END_TABLE,
};

static const binding pick[] = {
    {KM_F(6), ACT_SAMPLES}, {'~', ACT_SAMPLES}, {KM_BACKSPACE, ACT_LEFT},
    {KM_DEL, ACT_LEFT},     {8, ACT_LEFT},      END_TABLE,
};

static const binding setup[] = {
    {KM_F(5), ACT_START},
    {'s', ACT_START},
    {' ', ACT_TOGGLE},
    END_TABLE,
};

static const binding preview[] = {
    {KM_F(4), ACT_FILTER},
    {'f', ACT_FILTER},
    {KM_F(5), ACT_START},
    {'s', ACT_START},
    {KM_F(6), ACT_CHECK},
    {'c', ACT_CHECK},
    END_TABLE,
};

static const binding run[] = {
    {KM_F(5), ACT_START},
    {'r', ACT_START},
    {KM_F(7), ACT_PAUSE},
    {'p', ACT_PAUSE},
    {KM_F(8), ACT_CANCEL},
    {'c', ACT_CANCEL},
    END_TABLE,
};

static const binding text[] = {
    {KM_ENTER, ACT_ENTER},         {'\n', ACT_ENTER},       {KM_ESC, ACT_BACK},
    {KM_BACKSPACE, ACT_BACKSPACE}, {KM_DEL, ACT_BACKSPACE}, {8, ACT_BACKSPACE},
    {KM_CTRL('u'), ACT_CLEAR},     {KM_RESIZE, ACT_RESIZE}, END_TABLE,
};

static const binding dialog[] = {
    {'y', ACT_YES},     {'Y', ACT_YES},        {'n', ACT_NO},           {'N', ACT_NO},
    {KM_ESC, ACT_NO},   {KM_ENTER, ACT_ENTER}, {'\n', ACT_ENTER},       {KM_TAB, ACT_TAB},
    {KM_LEFT, ACT_TAB}, {KM_RIGHT, ACT_TAB},   {KM_RESIZE, ACT_RESIZE}, END_TABLE,
};

static const binding help[] = {
    {KM_UP, ACT_UP},   {'k', ACT_UP},        {KM_DOWN, ACT_DOWN},
    {'j', ACT_DOWN},   {KM_PGUP, ACT_PGUP},  {KM_PGDN, ACT_PGDN},
    {' ', ACT_PGDN},   {KM_HOME, ACT_HOME},  {'g', ACT_HOME},
    {KM_END, ACT_END}, {'G', ACT_END},       {KM_ESC, ACT_BACK},
    {'q', ACT_BACK},   {KM_F(1), ACT_BACK},  {KM_F(10), ACT_BACK},
    {'?', ACT_BACK},   {KM_ENTER, ACT_BACK}, {KM_RESIZE, ACT_RESIZE},
    END_TABLE,
};

static const binding *const screen_table[KMC_COUNT] = {
    [KMC_JOBS] = jobs,   [KMC_ITEMS] = items,     [KMC_PICK] = pick,
    [KMC_SETUP] = setup, [KMC_PREVIEW] = preview, [KMC_RUN] = run,
    [KMC_TEXT] = text,   [KMC_DIALOG] = dialog,   [KMC_HELP] = help,
};

/* Whether ctx falls back on the generic table. */
static int has_generic(km_ctx ctx)
{
    return ctx != KMC_TEXT && ctx != KMC_DIALOG && ctx != KMC_HELP;
}

static act_type lookup(const binding *t, int key)
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
    a.type = lookup(screen_table[ctx], key);
    if (a.type == ACT_NONE && ctx == KMC_TEXT && key >= 0x20 && key != KM_DEL &&
        key < KM_BASE) {
        a.type = ACT_CHAR;
        a.ch = (unsigned)key;
    }
    if (a.type == ACT_NONE && has_generic(ctx))
        a.type = lookup(generic, key);
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
    for (const binding *t = screen_table[ctx]; t->key != KM_NONE; t++)
        if (t->act == a && k < max)
            keys[k++] = t->key;
    if (has_generic(ctx))
        for (const binding *t = generic; t->key != KM_NONE; t++)
            if (t->act == a && k < max && lookup(screen_table[ctx], t->key) == ACT_NONE)
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
