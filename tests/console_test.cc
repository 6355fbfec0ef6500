// The console's four layers (STYLE.md "Testing the console"): keymap (key ->
// action), actions (pure state, action -> reaction flags), view models (the
// exact text and roles of rows: truncation, scrolling, selection, colors by
// role), and the screen module against a virtual terminal (newterm on
// /dev/null, read back with mvwinnstr).
#include <gtest/gtest.h>

#include <clocale>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

// engine/rate.h (through engine.h) names C11's atomic_int, which <stdatomic.h>
// does not declare in C++17: std::atomic_int is the same object type.
#include <atomic>
using std::atomic_int;

extern "C" {
#include "console/app.h"
#include "console/keymap.h"
#include "console/screen.h"
#include "console/text.h"
#include "console/vm.h"
#include "engine/jobcfg.h"
#include "engine/journal.h"
#include "iot/op.h"
#include "parsers/validate.h"
}

namespace
{

struct Locale {
    Locale()
    {
        setlocale(LC_ALL, "C.UTF-8");
    }
};
const Locale locale_once;

act A(act_type t)
{
    act a;
    a.type = t;
    a.ch = 0;
    return a;
}

act K(km_ctx ctx, int key)
{
    return km_map(ctx, key);
}

std::string rtrim(std::string s)
{
    while (!s.empty() && s.back() == ' ')
        s.pop_back();
    return s;
}

// An app on the local endpoint at h x w, with a state dir and samples.
struct App {
    app a;
    App(int h = 24, int w = 80, int utf8 = 0, const jobcfg *defaults = nullptr)
    {
        app_target t;
        memset(&t, 0, sizeof t);
        t.local = 1;
        snprintf(t.endpoint, sizeof t.endpoint, "http://127.0.0.1:4567");
        snprintf(t.account, sizeof t.account, "123456789012");
        snprintf(t.describe, sizeof t.describe, "no AWS account in use");
        snprintf(t.registry, sizeof t.registry, "local endpoint /s/local-endpoint.db");
        app_init(&a, defaults, &t, "/s", "/samples", "/work");
        a.utf8 = utf8;
        a.now = 100;
        app_resize(&a, h, w);
    }
    ~App()
    {
        app_free(&a);
    }
    int key(int k)
    {
        return app_do(&a, km_map(app_keyctx(&a), k));
    }
    int type(const char *s)
    {
        int rx = 0;
        for (; *s; s++)
            rx |= key((unsigned char)*s);
        return rx;
    }
};

// F5 on the setup screen, then the preview's scan ends: n items, all ok.
// Returns F5's reaction flags.
int preview_all_ok(App &t, size_t n)
{
    int rx = t.key(KM_F(5));
    pv_status st;
    memset(&st, 0, sizeof st);
    st.done = 1;
    st.total = st.ok = n;
    app_preview_status(&t.a, &st);
    return rx;
}

jnl_job job(long long id, int phase, jnl_job_status st, const char *file, size_t total,
            size_t done, size_t failed, size_t skipped)
{
    jnl_job j;
    memset(&j, 0, sizeof j);
    j.id = id;
    j.phase = phase;
    j.status = st;
    snprintf(j.file, sizeof j.file, "%s", file);
    j.total = total;
    j.done = done;
    j.failed = failed;
    j.skipped = skipped;
    snprintf(j.identity, sizeof j.identity,
             "{\"policies\":[\"P1\",\"P2\"],\"thing_groups\":[],\"thing_type\":null,"
             "\"cert_active\":false,\"thing_deferred\":true,\"vendor\":\"auto\","
             "\"infineon_bundle\":\"E0E0\",\"skip_invalid\":false}");
    snprintf(j.endpoint, sizeof j.endpoint,
             "local endpoint /s/local-endpoint.db account 123456789012");
    return j;
}

void set_jobs(app *a, const std::vector<jnl_job> &v)
{
    jnl_job *p = (jnl_job *)malloc(v.size() * sizeof *p + 1);
    for (size_t i = 0; i < v.size(); i++)
        p[i] = v[i];
    app_set_jobs(a, p, v.size(), nullptr);
}

pv_row prow(size_t idx, const char *name, item_verdict verdict, const char *msg,
            int n_attrs = -1)
{
    pv_row r;
    memset(&r, 0, sizeof r);
    r.idx = idx;
    r.name = strdup(name);
    snprintf(r.fp, sizeof r.fp, "%064zx", idx + 0xabc);
    r.verdict = verdict;
    r.message = strdup(msg);
    r.n_attrs = n_attrs;
    r.attr_limit = 3;
    std::string d =
        "Item " + std::to_string(idx) + "\nVerdict: " + item_verdict_name(verdict) +
        (msg[0] ? std::string(": ") + msg : "") + "\nThing name: " + name + "\n";
    r.detail = strdup(d.c_str());
    return r;
}

void add_rows(app *a, const std::vector<pv_row> &rows)
{
    pv_row *p = (pv_row *)malloc(rows.size() * sizeof *p + 1);
    for (size_t i = 0; i < rows.size(); i++)
        p[i] = rows[i];
    app_preview_add(a, p, rows.size());
}

struct VM {
    vm v;
    VM()
    {
        vm_init(&v);
    }
    ~VM()
    {
        vm_free(&v);
    }
    std::string row(int y) const
    {
        return v.rows[y].text;
    }
    std::string trimmed(int y) const
    {
        return rtrim(v.rows[y].text);
    }
    // The row that contains s, or -1.
    int find(const std::string &s) const
    {
        for (int y = 0; y < v.h; y++)
            if (std::string(v.rows[y].text).find(s) != std::string::npos)
                return y;
        return -1;
    }
    int col_of(int y, const std::string &s) const
    {
        std::string r = v.rows[y].text;
        size_t p = r.find(s);
        if (p == std::string::npos)
            return -1;
        return tx_width(r.substr(0, p).c_str());
    }
};

} // namespace

// ---------------------------------------------------------------- text

TEST(ConsoleText, FitPadsAndTruncatesByColumns)
{
    buf b = BUF_INIT;
    tx_fit(&b, "abc", 5, TX_LEFT, 1);
    EXPECT_STREQ(b.data, "abc  ");
    buf_reset(&b);
    tx_fit(&b, "abc", 5, TX_RIGHT, 1);
    EXPECT_STREQ(b.data, "  abc");
    buf_reset(&b);
    tx_fit(&b, "abcdefgh", 5, TX_LEFT, 1);
    EXPECT_STREQ(b.data, "abcd\xe2\x80\xa6");
    buf_reset(&b);
    tx_fit(&b, "abcdefgh", 5, TX_LEFT, 0);
    EXPECT_STREQ(b.data, "abcd~");
    buf_reset(&b);
    // wide characters take two columns; one that does not fit is not split
    tx_fit(&b, "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 4, TX_LEFT, 1);
    EXPECT_EQ(tx_width(b.data), 4);
    EXPECT_STREQ(b.data, "\xe6\x97\xa5\xe2\x80\xa6 ");
    buf_reset(&b);
    // invalid UTF-8 and control characters never reach the terminal
    tx_fit(&b,
           "a\xff"
           "b\x1b[2Jc\n",
           10, TX_LEFT, 1);
    EXPECT_STREQ(b.data, "a?b?[2Jc? ");
    buf_reset(&b);
    tx_fit(&b, "caf\xc3\xa9", 5, TX_LEFT, 0);
    EXPECT_STREQ(b.data, "caf? ");
    buf_reset(&b);
    tx_fit_tail(&b, "/very/long/path/file.csv", 12, 1);
    EXPECT_STREQ(b.data, "\xe2\x80\xa6th/file.csv");
    EXPECT_EQ(tx_width(b.data), 12);
    buf_free(&b);
}

TEST(ConsoleText, Numbers)
{
    char s[32];
    tx_duration(s, sizeof s, 42);
    EXPECT_STREQ(s, "00:42");
    tx_duration(s, sizeof s, 3725);
    EXPECT_STREQ(s, "1h02");
    tx_duration(s, sizeof s, -1);
    EXPECT_STREQ(s, "--:--");
    tx_short_num(s, sizeof s, 12.5);
    EXPECT_STREQ(s, "12.5");
    tx_short_num(s, sizeof s, 10);
    EXPECT_STREQ(s, "10");
    tx_short_num(s, sizeof s, 123456);
    EXPECT_STREQ(s, "123k");
    tx_short_num(s, sizeof s, 2500000);
    EXPECT_STREQ(s, "2.5M");
    tx_fingerprint(s, sizeof s,
                   "349dc88b242e91b0bdc9d0a3dcc50a7f23955b854d201ec7acc74a52686ae196", 0);
    EXPECT_STREQ(s, "349dc88b...e196");
}

// ---------------------------------------------------------------- keymap

TEST(ConsoleKeymap, ArrowsViKeysAndFunctionKeys)
{
    EXPECT_EQ(K(KMC_JOBS, KM_DOWN).type, ACT_DOWN);
    EXPECT_EQ(K(KMC_JOBS, 'j').type, ACT_DOWN);
    EXPECT_EQ(K(KMC_JOBS, 'k').type, ACT_UP);
    EXPECT_EQ(K(KMC_PREVIEW, 'G').type, ACT_END);
    EXPECT_EQ(K(KMC_PREVIEW, 'g').type, ACT_HOME);
    EXPECT_EQ(K(KMC_ITEMS, KM_PGDN).type, ACT_PGDN);
    EXPECT_EQ(K(KMC_ITEMS, KM_CTRL('f')).type, ACT_PGDN);
    EXPECT_EQ(K(KMC_RUN, KM_F(1)).type, ACT_HELP);
    EXPECT_EQ(K(KMC_RUN, '?').type, ACT_HELP);
    EXPECT_EQ(K(KMC_SETUP, KM_F(10)).type, ACT_QUIT);
    EXPECT_EQ(K(KMC_SETUP, 'q').type, ACT_QUIT);
    EXPECT_EQ(K(KMC_PICK, KM_ENTER).type, ACT_ENTER);
    EXPECT_EQ(K(KMC_PICK, '\n').type, ACT_ENTER);
    EXPECT_EQ(K(KMC_PICK, KM_ESC).type, ACT_BACK);
    EXPECT_EQ(K(KMC_PREVIEW, KM_TAB).type, ACT_TAB);
    EXPECT_EQ(K(KMC_JOBS, '/').type, ACT_SEARCH);
    EXPECT_EQ(K(KMC_JOBS, 'n').type, ACT_SEARCH_NEXT);
    EXPECT_EQ(K(KMC_JOBS, KM_RESIZE).type, ACT_RESIZE);
    EXPECT_EQ(K(KMC_JOBS, 'x').type, ACT_NONE);
}

TEST(ConsoleKeymap, ScreenTablesComeFirst)
{
    EXPECT_EQ(K(KMC_JOBS, KM_F(5)).type, ACT_START);  // resume
    EXPECT_EQ(K(KMC_SETUP, KM_F(5)).type, ACT_START); // preview
    EXPECT_EQ(K(KMC_SETUP, ' ').type, ACT_TOGGLE);
    EXPECT_EQ(K(KMC_JOBS, ' ').type, ACT_NONE);
    EXPECT_EQ(K(KMC_PREVIEW, KM_F(4)).type, ACT_FILTER);
    EXPECT_EQ(K(KMC_JOBS, KM_F(4)).type, ACT_NONE);
    EXPECT_EQ(K(KMC_RUN, KM_F(7)).type, ACT_PAUSE);
    EXPECT_EQ(K(KMC_RUN, 'p').type, ACT_PAUSE);
    EXPECT_EQ(K(KMC_RUN, KM_F(8)).type, ACT_CANCEL);
    EXPECT_EQ(K(KMC_ITEMS, KM_F(6)).type, ACT_EXPORT);
    EXPECT_EQ(K(KMC_PICK, KM_F(6)).type, ACT_SAMPLES);
    EXPECT_EQ(K(KMC_PICK, KM_BACKSPACE).type, ACT_LEFT);
}

TEST(ConsoleKeymap, TextFieldsAndDialogs)
{
    act a = K(KMC_TEXT, 'q');
    EXPECT_EQ(a.type, ACT_CHAR);
    EXPECT_EQ(a.ch, (unsigned)'q');
    a = K(KMC_TEXT, 0xe9);
    EXPECT_EQ(a.type, ACT_CHAR);
    EXPECT_EQ(K(KMC_TEXT, 'j').type, ACT_CHAR); // no vi keys while typing
    EXPECT_EQ(K(KMC_TEXT, KM_ENTER).type, ACT_ENTER);
    EXPECT_EQ(K(KMC_TEXT, KM_ESC).type, ACT_BACK);
    EXPECT_EQ(K(KMC_TEXT, KM_BACKSPACE).type, ACT_BACKSPACE);
    EXPECT_EQ(K(KMC_TEXT, 127).type, ACT_BACKSPACE);
    EXPECT_EQ(K(KMC_TEXT, KM_CTRL('u')).type, ACT_CLEAR);
    EXPECT_EQ(K(KMC_TEXT, KM_F(10)).type, ACT_NONE);
    EXPECT_EQ(K(KMC_DIALOG, 'y').type, ACT_YES);
    EXPECT_EQ(K(KMC_DIALOG, 'n').type, ACT_NO);
    EXPECT_EQ(K(KMC_DIALOG, KM_ESC).type, ACT_NO);
    EXPECT_EQ(K(KMC_DIALOG, 'q').type, ACT_NONE);
    EXPECT_EQ(K(KMC_HELP, KM_ESC).type, ACT_BACK);
    EXPECT_EQ(K(KMC_HELP, 'q').type, ACT_BACK);
    EXPECT_EQ(K(KMC_HELP, KM_F(1)).type, ACT_BACK);
}

TEST(ConsoleKeymap, NamesAndReverseLookup)
{
    char s[32];
    km_key_name(s, sizeof s, KM_F(5));
    EXPECT_STREQ(s, "F5");
    km_key_name(s, sizeof s, KM_ENTER);
    EXPECT_STREQ(s, "Enter");
    km_key_name(s, sizeof s, KM_CTRL('u'));
    EXPECT_STREQ(s, "Ctrl-U");
    km_key_name(s, sizeof s, '/');
    EXPECT_STREQ(s, "/");
    int keys[8];
    size_t n = km_keys_of(KMC_RUN, ACT_PAUSE, keys, 8);
    ASSERT_EQ(n, 2u);
    EXPECT_EQ(keys[0], KM_F(7));
    EXPECT_EQ(keys[1], 'p');
    EXPECT_STREQ(km_act_text(ACT_PAUSE), "pause");
}

TEST(ConsoleKeymap, EveryBarEntryIsBound)
{
    for (int c = 0; c < KMC_COUNT; c++) {
        int keys[16];
        act_type acts[16];
        size_t n = vm_bar((km_ctx)c, keys, acts, 16);
        EXPECT_GT(n, 0u) << "context " << c;
        for (size_t i = 0; i < n; i++)
            EXPECT_EQ(km_map((km_ctx)c, keys[i]).type, acts[i])
                << "context " << c << " entry " << i;
    }
}

// ---------------------------------------------------------------- actions

TEST(ConsoleApp, StartsOnJobsAndOpensThePicker)
{
    App t;
    EXPECT_EQ(t.a.screen, APP_JOBS);
    EXPECT_EQ(app_keyctx(&t.a), KMC_JOBS);
    int rx = t.key(KM_F(3));
    EXPECT_EQ(t.a.screen, APP_PICK);
    EXPECT_TRUE(rx & RX_LOAD_DIR);
    EXPECT_STREQ(t.a.pick.dir, "/work");
    rx = t.key(KM_ESC);
    EXPECT_EQ(t.a.screen, APP_JOBS);
    EXPECT_TRUE(rx & RX_LOAD_JOBS);
}

TEST(ConsoleApp, ListSelectionAndScrolling)
{
    App t(8, 80); // 3 list rows
    EXPECT_EQ(app_page_rows(&t.a, APP_JOBS), 3u);
    std::vector<jnl_job> v;
    for (int i = 10; i > 0; i--)
        v.push_back(job(i, 1, JOB_DONE, "/f.csv", 7, 7, 0, 0));
    set_jobs(&t.a, v);
    EXPECT_EQ(t.a.jobs.l.sel, 0u);
    t.key('j');
    t.key(KM_DOWN);
    EXPECT_EQ(t.a.jobs.l.sel, 2u);
    EXPECT_EQ(t.a.jobs.l.top, 0u);
    t.key('j');
    EXPECT_EQ(t.a.jobs.l.sel, 3u);
    EXPECT_EQ(t.a.jobs.l.top, 1u);
    t.key(KM_END);
    EXPECT_EQ(t.a.jobs.l.sel, 9u);
    EXPECT_EQ(t.a.jobs.l.top, 7u);
    t.key(KM_PGUP);
    EXPECT_EQ(t.a.jobs.l.sel, 6u);
    EXPECT_EQ(t.a.jobs.l.top, 4u);
    t.key('g');
    EXPECT_EQ(t.a.jobs.l.sel, 0u);
    EXPECT_EQ(t.a.jobs.l.top, 0u);
    t.key('k'); // stays at the top
    EXPECT_EQ(t.a.jobs.l.sel, 0u);
    // a refresh keeps the same job selected when rows move under it
    t.key('j');
    long long id = t.a.jobs.v[1].id;
    v.insert(v.begin(), job(11, 2, JOB_RUNNING, "/g.json", 3, 0, 0, 0));
    set_jobs(&t.a, v);
    EXPECT_EQ(t.a.jobs.v[t.a.jobs.l.sel].id, id);
    // a smaller terminal keeps the selection visible
    t.key(KM_END);
    app_resize(&t.a, 6, 80);
    EXPECT_EQ(t.a.jobs.l.top, 10u);
}

TEST(ConsoleApp, SearchAndNextMatch)
{
    App t;
    set_jobs(&t.a, {job(3, 1, JOB_DONE, "/a/espressif.csv", 7, 7, 0, 0),
                    job(2, 2, JOB_DONE, "/a/device-infos.json", 7, 7, 0, 0),
                    job(1, 1, JOB_DONE, "/b/espressif-2.csv", 7, 7, 0, 0)});
    t.key('/');
    EXPECT_EQ(app_keyctx(&t.a), KMC_TEXT);
    t.type("DEVICE");
    EXPECT_STREQ(t.a.input.text, "DEVICE");
    t.key(KM_ENTER);
    EXPECT_EQ(app_keyctx(&t.a), KMC_JOBS);
    EXPECT_EQ(t.a.jobs.l.sel, 1u);
    t.key('/');
    t.type("espr");
    t.key(KM_ENTER);
    EXPECT_EQ(t.a.jobs.l.sel, 2u);
    t.key('n'); // wraps around
    EXPECT_EQ(t.a.jobs.l.sel, 0u);
    t.key('/');
    t.type("zzz");
    t.key(KM_ENTER);
    EXPECT_EQ(t.a.jobs.l.sel, 0u);
    EXPECT_TRUE(t.a.msg_error);
    EXPECT_STREQ(t.a.msg, "not found: zzz");
    // Esc abandons a search being typed
    t.key('/');
    t.type("x");
    t.key(KM_ESC);
    EXPECT_EQ(t.a.input.kind, IN_NONE);
}

TEST(ConsoleApp, QuitAsksWhileAJobRuns)
{
    App t;
    EXPECT_TRUE(t.key('q') & RX_QUIT);
    t.a.run.active = 1;
    eng_snapshot s;
    memset(&s, 0, sizeof s);
    s.state = ENG_RUNNING;
    s.job_id = 4;
    s.total = 10;
    app_run_update(&t.a, &s, nullptr, 0);
    int rx = t.key(KM_F(10));
    EXPECT_FALSE(rx & RX_QUIT);
    EXPECT_EQ(t.a.dialog, DLG_QUIT_RUNNING);
    EXPECT_EQ(app_keyctx(&t.a), KMC_DIALOG);
    rx = t.key(KM_ENTER); // the default button is No
    EXPECT_FALSE(rx & RX_QUIT);
    EXPECT_EQ(t.a.dialog, DLG_NONE);
    t.key('q');
    rx = t.key('y');
    EXPECT_TRUE(rx & RX_QUIT);
    EXPECT_TRUE(rx & RX_PAUSE_JOB); // quitting pauses; only F8 cancels
    EXPECT_FALSE(rx & RX_CANCEL_JOB);
    // a signal while running: pause and quit at once
    act x = A(ACT_INTERRUPT);
    rx = app_do(&t.a, x);
    EXPECT_EQ(rx & (RX_QUIT | RX_PAUSE_JOB | RX_CANCEL_JOB), RX_QUIT | RX_PAUSE_JOB);
}

TEST(ConsoleApp, HelpOpensAndCloses)
{
    App t;
    t.key(KM_F(1));
    EXPECT_TRUE(t.a.help);
    EXPECT_EQ(app_keyctx(&t.a), KMC_HELP);
    t.key('j');
    EXPECT_EQ(t.a.help_top, 1u);
    t.key(KM_ESC);
    EXPECT_FALSE(t.a.help);
    t.key('?');
    EXPECT_TRUE(t.a.help);
    t.key('?');
    EXPECT_FALSE(t.a.help);
}

static pk_entry entry(const char *name, pk_kind kind)
{
    pk_entry e;
    memset(&e, 0, sizeof e);
    e.name = strdup(name);
    e.kind = kind;
    e.count = -1;
    return e;
}

static void set_dir(app *a, const char *dir, const std::vector<pk_entry> &v)
{
    pk_entry *p = (pk_entry *)malloc(v.size() * sizeof *p + 1);
    for (size_t i = 0; i < v.size(); i++)
        p[i] = v[i];
    app_set_dir(a, dir, p, v.size(), nullptr);
}

TEST(ConsoleApp, PickerBrowsesAndChooses)
{
    App t;
    t.key('o');
    set_dir(&t.a, "/work",
            {entry("..", PK_PARENT), entry("/samples", PK_SAMPLES), entry("mes", PK_DIR),
             entry("a.csv", PK_FILE), entry("notes.txt", PK_FILE)});
    EXPECT_EQ(t.a.pick.l.sel, 2u); // the first folder or file, not ".."
    int rx = t.key(KM_ENTER);
    EXPECT_TRUE(rx & RX_LOAD_DIR);
    EXPECT_STREQ(t.a.pick.dir, "/work/mes");
    set_dir(&t.a, "/work/mes", {entry("..", PK_PARENT), entry("x.json", PK_FILE)});
    rx = t.key(KM_BACKSPACE);
    EXPECT_TRUE(rx & RX_LOAD_DIR);
    EXPECT_STREQ(t.a.pick.dir, "/work");
    set_dir(&t.a, "/work",
            {entry("..", PK_PARENT), entry("/samples", PK_SAMPLES), entry("mes", PK_DIR),
             entry("a.csv", PK_FILE), entry("notes.txt", PK_FILE)});
    EXPECT_EQ(t.a.pick.l.sel, 2u); // back on the folder we came from
    t.key(KM_F(6));
    EXPECT_STREQ(t.a.pick.dir, "/samples");
    set_dir(
        &t.a, "/work",
        {entry("..", PK_PARENT), entry("a.csv", PK_FILE), entry("notes.txt", PK_FILE)});
    pk_result r[2];
    memset(r, 0, sizeof r);
    r[0].index = 1;
    r[0].supported = 1;
    r[0].vendor = VENDOR_ESPRESSIF;
    r[0].count = 7;
    r[1].index = 2;
    snprintf(r[1].note, sizeof r[1].note, "not a supported format");
    EXPECT_TRUE(app_probed(&t.a, r, 2) & RX_DIRTY);
    t.key('j');
    EXPECT_EQ(t.a.pick.l.sel, 2u);
    t.key(KM_ENTER); // unsupported: stays, says why
    EXPECT_EQ(t.a.screen, APP_PICK);
    EXPECT_TRUE(t.a.msg_error);
    EXPECT_NE(std::string(t.a.msg).find("not a supported format"), std::string::npos);
    t.key('k');
    rx = t.key(KM_ENTER);
    EXPECT_EQ(t.a.screen, APP_SETUP);
    EXPECT_FALSE(rx & RX_DETECT);
    EXPECT_STREQ(t.a.file.path, "/work/a.csv");
    EXPECT_EQ(t.a.file.phase, 1);
    EXPECT_EQ(t.a.file.count, 7);
}

TEST(ConsoleApp, SetupFormPrefillsEditsAndToggles)
{
    App t;
    app_choose_file(&t.a, "/s/devices.json", VENDOR_DEVICE_INFOS, 7);
    ASSERT_EQ(t.a.file.phase, 2);
    // the local endpoint, nothing configured: the samples' resources
    ASSERT_EQ(t.a.cfg.n_policies, 1u);
    EXPECT_STREQ(t.a.cfg.policies[0], "BasicTestPolicy");
    ASSERT_EQ(t.a.cfg.n_thing_groups, 1u);
    EXPECT_STREQ(t.a.cfg.thing_groups[0], "BasicTestGroup");
    EXPECT_STREQ(t.a.cfg.thing_type, "BasicTestType");
    // Phase 2 has no certificate-active / deferred choice
    t.key('j');
    t.key('j');
    t.key('j');
    EXPECT_EQ(t.a.setup.field, FLD_CERT_ACTIVE);
    t.key(' ');
    EXPECT_EQ(t.a.cfg.cert_active, 0);
    t.key('j');
    t.key('j');
    t.key(' ');
    EXPECT_EQ(t.a.cfg.skip_invalid, 1);

    app_choose_file(&t.a, "/s/manifest.csv", VENDOR_AUTO, -1);
    EXPECT_EQ(t.a.file.phase, 0);
    // the operator moves in the form while the file's kind is detected: the
    // detection's answer does not move the cursor back
    t.key(KM_END);
    app_field was = t.a.setup.field;
    EXPECT_NE(was, FLD_POLICIES);
    EXPECT_TRUE(app_set_file_kind(&t.a, VENDOR_ESPRESSIF, nullptr) & RX_DIRTY);
    EXPECT_EQ(t.a.setup.field, was);
    EXPECT_EQ(t.a.file.phase, 1);
    EXPECT_EQ(t.a.cfg.n_thing_groups, 0u);
    EXPECT_EQ(t.a.cfg.thing_type, nullptr);
    EXPECT_EQ(t.a.cfg.skip_invalid, 0);
    EXPECT_EQ(t.a.cfg.thing_deferred, 1);
    t.key(KM_END);
    for (int i = 0; i < 4; i++)
        t.key('k');
    EXPECT_EQ(t.a.setup.field, FLD_DEFERRED);
    t.key(KM_ENTER);
    EXPECT_EQ(t.a.cfg.thing_deferred, 0);
    // edit the policies: Enter, type, Enter
    t.key('g');
    t.key(KM_ENTER);
    EXPECT_EQ(app_keyctx(&t.a), KMC_TEXT);
    EXPECT_STREQ(t.a.input.text, "BasicTestPolicy");
    t.key(KM_CTRL('u'));
    t.type("Line3, Sensors");
    t.key(KM_ENTER);
    ASSERT_EQ(t.a.cfg.n_policies, 2u);
    EXPECT_STREQ(t.a.cfg.policies[0], "Line3");
    EXPECT_STREQ(t.a.cfg.policies[1], "Sensors");
    // a bad name is refused at once with the reason
    t.key(KM_ENTER);
    t.key(KM_CTRL('u'));
    t.type("bad name!");
    t.key(KM_ENTER);
    EXPECT_TRUE(t.a.msg_error);
    EXPECT_NE(std::string(t.a.msg).find("polic"), std::string::npos);
    int rx = t.key(KM_F(5));
    EXPECT_FALSE(rx & RX_START_PREVIEW);
    EXPECT_EQ(t.a.screen, APP_SETUP);
    t.key(KM_ENTER);
    t.key(KM_CTRL('u'));
    t.type("Line3");
    t.key(KM_ENTER);
    rx = t.key(KM_F(5));
    EXPECT_TRUE(rx & RX_START_PREVIEW);
    EXPECT_EQ(t.a.screen, APP_PREVIEW);
}

TEST(ConsoleApp, ConfiguredDefaultsWinOverTheSamples)
{
    jobcfg d;
    jobcfg_init(&d);
    jobcfg_set(&d, "policies", "Factory", nullptr, 0, nullptr);
    App t(24, 80, 0, &d);
    jobcfg_free(&d);
    app_choose_file(&t.a, "/s/devices.json", VENDOR_DEVICE_INFOS, 7);
    ASSERT_EQ(t.a.cfg.n_policies, 1u);
    EXPECT_STREQ(t.a.cfg.policies[0], "Factory");
    EXPECT_EQ(t.a.cfg.n_thing_groups, 0u);
}

TEST(ConsoleApp, PreviewRefusesToStartWithErrorsUnlessSkipIsConfirmed)
{
    App t;
    app_choose_file(&t.a, "/s/devices.json", VENDOR_DEVICE_INFOS, 3);
    t.key(KM_F(5));
    add_rows(&t.a,
             {prow(0, "dev-0", ITEM_OK, ""), prow(1, "dev 1", ITEM_ERROR, "bad name"),
              prow(2, "dev-2", ITEM_WARN, "expires soon")});
    int rx = t.key(KM_F(5)); // still validating
    EXPECT_FALSE(rx & RX_START_JOB);
    EXPECT_NE(std::string(t.a.msg).find("still running"), std::string::npos);
    pv_status st;
    memset(&st, 0, sizeof st);
    st.done = 1;
    st.vendor = VENDOR_DEVICE_INFOS;
    st.total = 3;
    st.ok = 1;
    st.warn = 1;
    st.error = 1;
    app_preview_status(&t.a, &st);
    EXPECT_EQ(t.a.pv.n_problems, 2u);
    t.key(KM_F(4));
    EXPECT_TRUE(t.a.pv.problems_only);
    t.key(KM_END);
    EXPECT_EQ(t.a.pv.l.sel, 1u);
    t.key('f');
    EXPECT_FALSE(t.a.pv.problems_only);
    EXPECT_EQ(t.a.pv.l.sel, 0u);
    // Tab gives the keys to the detail pane, and back
    t.key(KM_TAB);
    EXPECT_TRUE(t.a.pv.focus_detail);
    t.key('j');
    EXPECT_EQ(t.a.pv.detail_top, 1u);
    EXPECT_EQ(t.a.pv.l.sel, 0u);
    t.key(KM_TAB);
    EXPECT_FALSE(t.a.pv.focus_detail);

    rx = t.key(KM_F(5));
    EXPECT_FALSE(rx & RX_START_JOB);
    EXPECT_EQ(t.a.dialog, DLG_SKIP_INVALID);
    rx = t.key('n');
    EXPECT_FALSE(rx & RX_START_JOB);
    EXPECT_EQ(t.a.cfg.skip_invalid, 0);
    t.key(KM_F(5));
    t.key(KM_TAB); // highlight "skip"
    rx = t.key(KM_ENTER);
    EXPECT_TRUE(rx & RX_START_JOB);
    EXPECT_EQ(t.a.cfg.skip_invalid, 1);
    EXPECT_EQ(t.a.screen, APP_RUN);
}

TEST(ConsoleApp, RejectedFileCannotStart)
{
    App t;
    app_choose_file(&t.a, "/s/bad.json", VENDOR_DEVICE_INFOS, -1);
    t.key(KM_F(5));
    pv_status st;
    memset(&st, 0, sizeof st);
    st.done = 1;
    st.rejected = 1;
    snprintf(st.message, sizeof st.message, "bad.json: no batch_id");
    app_preview_status(&t.a, &st);
    int rx = t.key(KM_F(5));
    EXPECT_FALSE(rx & RX_START_JOB);
    EXPECT_TRUE(t.a.msg_error);
}

static eng_snapshot snap(eng_state st, long long job_id, size_t total, size_t done)
{
    eng_snapshot s;
    memset(&s, 0, sizeof s);
    s.state = st;
    s.job_id = job_id;
    s.phase = 1;
    s.total = total;
    s.done = done;
    return s;
}

TEST(ConsoleApp, PauseIsNotCancelAndResumeStartsTheSameJobAgain)
{
    App t;
    app_choose_file(&t.a, "/s/m.csv", VENDOR_ESPRESSIF, 7);
    preview_all_ok(t, 7);
    int rx = t.key(KM_F(5));
    ASSERT_TRUE(rx & RX_START_JOB);
    app_run_started(&t.a, 1, nullptr);
    eng_snapshot s = snap(ENG_RUNNING, 5, 7, 2);
    app_run_update(&t.a, &s, nullptr, 0);
    EXPECT_FALSE(t.key(KM_F(5)) & RX_START_JOB); // running
    rx = t.key('p');
    EXPECT_TRUE(rx & RX_PAUSE_JOB);
    EXPECT_FALSE(rx & RX_CANCEL_JOB);
    EXPECT_TRUE(t.a.run.stopping);
    EXPECT_FALSE(t.key('p') & RX_PAUSE_JOB); // once
    s.state = ENG_PAUSED;
    rx = app_run_update(&t.a, &s, nullptr, 0);
    EXPECT_TRUE(rx & RX_LOAD_JOBS);
    EXPECT_FALSE(t.a.run.stopping);
    EXPECT_TRUE(t.a.run.paused);
    EXPECT_EQ(t.a.screen, APP_RUN);
    // the status line no longer says "pausing..."
    EXPECT_EQ(std::string(t.a.msg), "job 5 paused with its items pending: F5 resumes it");
    rx = t.key(KM_F(5));
    EXPECT_TRUE(rx & RX_START_JOB);
    EXPECT_FALSE(t.a.run.resume_cancelled);
    EXPECT_STREQ(t.a.run.file, "/s/m.csv");
    app_run_started(&t.a, 1, nullptr);
    s.state = ENG_RUNNING;
    app_run_update(&t.a, &s, nullptr, 0);
    rx = t.key('c');
    EXPECT_EQ(t.a.dialog, DLG_CANCEL_RUN);
    rx = t.key('y');
    EXPECT_TRUE(rx & RX_CANCEL_JOB);
    s.state = ENG_CANCELLED;
    rx = app_run_update(&t.a, &s, nullptr, 0);
    // a cancel goes to the job's items
    EXPECT_EQ(t.a.screen, APP_ITEMS);
    EXPECT_TRUE(rx & RX_LOAD_ITEMS);
    EXPECT_EQ(t.a.items.job_id, 5);
}

// A job that ends while the operator is asked whether to cancel it: the
// dialog goes (its question no longer applies) and the status line says so;
// a "yes" afterwards would cancel nothing.
TEST(ConsoleApp, CancelDialogClosesWhenTheJobEnds)
{
    App t;
    app_choose_file(&t.a, "/s/m.csv", VENDOR_ESPRESSIF, 7);
    preview_all_ok(t, 7);
    ASSERT_TRUE(t.key(KM_F(5)) & RX_START_JOB);
    app_run_started(&t.a, 1, nullptr);
    eng_snapshot s = snap(ENG_RUNNING, 6, 7, 5);
    app_run_update(&t.a, &s, nullptr, 0);
    t.key(KM_F(8));
    ASSERT_EQ(t.a.dialog, DLG_CANCEL_RUN);
    s = snap(ENG_DONE, 6, 7, 7);
    app_run_update(&t.a, &s, nullptr, 0);
    EXPECT_EQ(t.a.dialog, DLG_NONE);
    EXPECT_EQ(std::string(t.a.msg), "job 6 ended before it was cancelled");
    EXPECT_FALSE(t.key('y') & RX_CANCEL_JOB);
}

TEST(ConsoleApp, FinishedRunOpensTheReview)
{
    App t;
    app_choose_file(&t.a, "/s/m.csv", VENDOR_ESPRESSIF, 7);
    t.a.screen = APP_RUN;
    t.a.run.active = 1;
    snprintf(t.a.run.file, sizeof t.a.run.file, "/s/m.csv");
    eng_snapshot s = snap(ENG_RUNNING, 9, 7, 3);
    eng_event ev;
    memset(&ev, 0, sizeof ev);
    ev.idx = 4;
    snprintf(ev.key, sizeof ev.key, "dev-4");
    snprintf(ev.text, sizeof ev.text, "CreateThing: 409 ResourceAlreadyExists");
    app_run_update(&t.a, &s, &ev, 1);
    EXPECT_EQ(t.a.run.n_ev, 1u);
    s = snap(ENG_FAILED, 9, 7, 6);
    s.failed = 1;
    app_run_update(&t.a, &s, nullptr, 0);
    int rx = t.key(KM_ENTER);
    EXPECT_EQ(t.a.screen, APP_ITEMS);
    EXPECT_TRUE(rx & RX_LOAD_ITEMS);
    EXPECT_EQ(t.a.items.job_id, 9);
    EXPECT_EQ(t.a.items.want_off, 0u);
    EXPECT_TRUE(t.key(KM_F(6)) & RX_EXPORT);
    rx = t.key(KM_F(4));
    EXPECT_TRUE(rx & RX_LOAD_ITEMS);
    EXPECT_EQ(t.a.items.filter, JNL_FILTER_PROBLEMS);
}

TEST(ConsoleApp, ItemsPageThroughTheJournal)
{
    App t(24, 80);
    jnl_job j = job(3, 1, JOB_DONE, "/f.csv", 1000, 1000, 0, 0);
    set_jobs(&t.a, {j});
    int rx = t.key(KM_ENTER);
    ASSERT_EQ(t.a.screen, APP_ITEMS);
    ASSERT_TRUE(rx & RX_LOAD_ITEMS);
    jnl_item *v = (jnl_item *)calloc(200, sizeof *v);
    for (size_t i = 0; i < 200; i++)
        v[i].idx = i;
    app_set_items(&t.a, &j, v, 200, 0);
    size_t page = app_page_rows(&t.a, APP_ITEMS);
    EXPECT_EQ(page, 16u);
    rx = t.key(KM_PGDN);
    EXPECT_FALSE(rx & RX_LOAD_ITEMS);
    t.key(KM_END);
    EXPECT_EQ(t.a.items.l.sel, 999u);
    rx = t.key('k');
    EXPECT_TRUE(rx & RX_LOAD_ITEMS); // row 998 is not loaded
    EXPECT_EQ(t.a.items.want_off, 998u - page);
}

TEST(ConsoleApp, ResumeFromTheJobsScreen)
{
    App t;
    jnl_job j = job(7, 1, JOB_CANCELLED, "/s/m.csv", 7, 3, 0, 0);
    set_jobs(&t.a, {j});
    int rx = t.key(KM_F(5));
    EXPECT_TRUE(rx & RX_START_JOB);
    EXPECT_EQ(t.a.screen, APP_RUN);
    EXPECT_STREQ(t.a.file.path, "/s/m.csv");
    ASSERT_EQ(t.a.cfg.n_policies, 2u);
    EXPECT_STREQ(t.a.cfg.policies[1], "P2");
    EXPECT_EQ(t.a.cfg.thing_deferred, 1);
    // F5 on a cancelled job is the operator's explicit resume; on a paused
    // one it is the ordinary resume
    EXPECT_TRUE(t.a.run.resume_cancelled);
    App p;
    set_jobs(&p.a, {job(6, 1, JOB_PAUSED, "/s/m.csv", 7, 3, 0, 0)});
    EXPECT_TRUE(p.key(KM_F(5)) & RX_START_JOB);
    EXPECT_FALSE(p.a.run.resume_cancelled);

    // a job sent elsewhere is not resumed through this endpoint
    App u;
    jnl_job k = job(8, 1, JOB_CANCELLED, "/s/m.csv", 7, 3, 0, 0);
    snprintf(k.endpoint, sizeof k.endpoint,
             "https://iot.eu-west-1.amazonaws.com account 1");
    set_jobs(&u.a, {k});
    rx = u.key('r');
    EXPECT_FALSE(rx & RX_START_JOB);
    EXPECT_TRUE(u.a.msg_error);
    EXPECT_NE(std::string(u.a.msg).find("eu-west-1"), std::string::npos);
    // a finished job has nothing to resume
    App w;
    set_jobs(&w.a, {job(9, 1, JOB_DONE, "/s/m.csv", 7, 7, 0, 0)});
    EXPECT_FALSE(w.key('r') & RX_START_JOB);
}

// ---------------------------------------------------------------- view models

static void every_row_is_the_width(const vm &v)
{
    for (int y = 0; y < v.h; y++)
        EXPECT_EQ(tx_width(v.rows[y].text), v.w) << "row " << y << ": " << v.rows[y].text;
}

TEST(ConsoleVm, JobsEmpty)
{
    App t;
    app_set_jobs(&t.a, nullptr, 0, "no journal in /s: nothing has been provisioned yet");
    VM m;
    vm_build(&m.v, &t.a);
    ASSERT_EQ(m.v.h, 24);
    every_row_is_the_width(m.v);
    EXPECT_EQ(m.trimmed(0),
              " thingpress - Jobs                                               "
              "local endpoint");
    EXPECT_EQ(m.v.rows[0].role, ROLE_TITLE);
    EXPECT_EQ(m.trimmed(1),
              "Sends to: local endpoint http://127.0.0.1:4567 - account 123456789012");
    EXPECT_EQ(m.v.rows[1].role, ROLE_TARGET);
    EXPECT_EQ(m.trimmed(2),
              "  Job Ph Status        Items   Done Failed  Skip  Batch        File");
    EXPECT_EQ(m.v.rows[2].role, ROLE_HEADER);
    EXPECT_EQ(m.trimmed(4), "  No jobs yet.");
    EXPECT_EQ(m.trimmed(5), "  (no journal in /s: nothing has been provisioned yet)");
    EXPECT_EQ(m.trimmed(22),
              "Enter opens a job; F5 resumes it; F3 opens a file for a new job.");
    EXPECT_EQ(m.v.rows[22].role, ROLE_DIM);
    EXPECT_EQ(m.trimmed(23), "F1Help  F3Open  F5Resume EnterItems /Search F10Quit");
    EXPECT_EQ(vm_role_at(&m.v, 23, 0), ROLE_KEY);
    EXPECT_EQ(vm_role_at(&m.v, 23, 2), ROLE_KEYLABEL);
    EXPECT_EQ(vm_role_at(&m.v, 23, 8), ROLE_KEY);
    EXPECT_EQ(vm_role_at(&m.v, 23, 79), ROLE_KEYLABEL);
}

TEST(ConsoleVm, JobsRowsSelectionRolesAndTruncation)
{
    App t;
    jnl_job a =
        job(12, 2, JOB_FAILED, "/data/mes/device-infos-line3.json", 50000, 49990, 10, 0);
    snprintf(a.batch_id, sizeof a.batch_id, "line3-2024-05-01-night-shift");
    jnl_job b = job(11, 1, JOB_DONE, "/x.csv", 7, 7, 0, 0);
    jnl_job c = job(10, 1, JOB_RUNNING, "/y.csv", 7, 3, 0, 0);
    set_jobs(&t.a, {a, b, c});
    t.key('j');
    VM m;
    vm_build(&m.v, &t.a);
    every_row_is_the_width(m.v);
    // at 80 columns the file column shows the end of the file name
    EXPECT_EQ(m.row(3), "   12  2 failed        50000  49990     10     0  line3-2024-~ "
                        "~infos-line3.json");
    EXPECT_EQ(m.v.rows[3].role, ROLE_NORMAL);
    EXPECT_EQ(vm_role_at(&m.v, 3, m.col_of(3, "failed")), ROLE_ERROR);
    EXPECT_EQ(vm_role_at(&m.v, 3, m.col_of(3, "10 ") + 1), ROLE_ERROR); // failed count
    EXPECT_EQ(m.trimmed(4),
              "   11  1 done              7      7      0     0  -            "
              "/x.csv");
    EXPECT_EQ(m.v.rows[4].role, ROLE_SELECTED);
    EXPECT_EQ(vm_role_at(&m.v, 4, m.col_of(4, "done")), ROLE_SELECTED);
    EXPECT_EQ(m.trimmed(5).substr(0, 28), "   10  1 interrupted       7");
    EXPECT_EQ(vm_role_at(&m.v, 5, m.col_of(5, "interrupted")), ROLE_WARN);

    // another process runs job 10 now (its OS lock): shown, not "interrupted"
    c.runner_pid = (long)getpid() + 1;
    snprintf(c.runner_host, sizeof c.runner_host, "line3-pc");
    jnl_job p = job(9, 1, JOB_PAUSED, "/z.csv", 7, 3, 0, 0);
    set_jobs(&t.a, {a, b, c, p});
    vm_build(&m.v, &t.a);
    EXPECT_EQ(m.trimmed(5).substr(0, 28), "   10  1 elsewhere         7");
    EXPECT_EQ(vm_role_at(&m.v, 5, m.col_of(5, "elsewhere")), ROLE_WARN);
    EXPECT_EQ(m.trimmed(6).substr(0, 28), "    9  1 paused            7");

    // wider: the update time column, the whole path
    app_resize(&t.a, 40, 120);
    vm_build(&m.v, &t.a);
    every_row_is_the_width(m.v);
    EXPECT_NE(m.row(2).find("Updated"), std::string::npos);
    EXPECT_NE(m.row(3).find("/data/mes/device-infos-line3.json"), std::string::npos);
}

// Issue 14: setup fields per file kind: Infineon's bundle and Microchip's
// signers folder are in the form when the file needs them (and only then);
// long lists are read in full; the Jobs list tells Infineon bundles apart.
TEST(ConsoleVm, SetupFieldsPerFileKind)
{
    App t(40, 120);
    app_choose_file(&t.a, "/s/m.csv", VENDOR_ESPRESSIF, 7);
    VM m;
    vm_build(&m.v, &t.a);
    EXPECT_LT(m.find("Infineon bundle"), 0);
    EXPECT_LT(m.find("Signers folder"), 0);
    app_choose_file(&t.a, "/s/certs.7z", VENDOR_INFINEON, 7);
    vm_build(&m.v, &t.a);
    int y = m.find("  Infineon bundle");
    ASSERT_GT(y, 0);
    EXPECT_NE(m.row(y).find("E0E0"), std::string::npos);
    // Down from Skip invalid reaches it; Enter edits it; E0E1 is taken
    while (t.a.setup.field != FLD_SOURCE && t.a.setup.field + 1 < FLD_COUNT)
        t.key('j');
    ASSERT_EQ(t.a.setup.field, FLD_SOURCE);
    t.key(KM_ENTER);
    t.key(KM_CTRL('u'));
    for (const char *c = "E0E1"; *c; c++)
        t.key(*c);
    t.key(KM_ENTER);
    ASSERT_NE(t.a.cfg.infineon_bundle, nullptr);
    EXPECT_STREQ(t.a.cfg.infineon_bundle, "E0E1");
    app_choose_file(&t.a, "/s/manifest.json", VENDOR_MICROCHIP, 3);
    vm_build(&m.v, &t.a);
    EXPECT_GT(m.find("  Signers folder       (bundled)"), 0);
    // an Espressif form skips it: Down from Skip invalid goes to Endpoint
    app_choose_file(&t.a, "/s/m.csv", VENDOR_ESPRESSIF, 7);
    while (t.a.setup.field != FLD_SKIP_INVALID)
        t.key(t.a.setup.field < FLD_SKIP_INVALID ? 'j' : 'k');
    t.key('j');
    EXPECT_EQ(t.a.setup.field, FLD_ENDPOINT);
    // many policies: read in full, not cut at 24 columns
    jobcfg_set(&t.a.cfg, "policies", "BasicTestPolicy,NoSuchPolicy,AnotherPolicy,Fourth",
               NULL, 0, NULL);
    vm_build(&m.v, &t.a);
    EXPECT_GT(m.find("BasicTestPolicy, NoSuchPolicy, AnotherPolicy, Fourth"), 0);
    // the Jobs list: an Infineon job's bundle in the Batch column
    jnl_job j = job(3, 1, JOB_DONE, "/s/certs.7z", 7, 7, 0, 0);
    snprintf(j.identity, sizeof j.identity, "{\"infineon_bundle\":\"E0E2\"}");
    set_jobs(&t.a, {j});
    t.key(KM_F(2));
    vm_build(&m.v, &t.a);
    EXPECT_GT(m.find("E0E2 bundle"), 0);
}

// Issue 14: the station profile's locked fields are shown but not edited.
TEST(ConsoleApp, StationLockedFieldsCannotBeChanged)
{
    App t;
    const char *keys[] = {"policies", "endpoint"};
    app_set_locked(&t.a, keys, 2, "/etc/thingpress/station.toml");
    app_choose_file(&t.a, "/s/m.csv", VENDOR_ESPRESSIF, 7);
    EXPECT_TRUE(app_field_locked(&t.a, FLD_POLICIES));
    EXPECT_TRUE(app_field_locked(&t.a, FLD_ENDPOINT));
    EXPECT_FALSE(app_field_locked(&t.a, FLD_GROUPS));
    ASSERT_EQ(t.a.setup.field, FLD_POLICIES);
    t.key(KM_ENTER);
    EXPECT_EQ(t.a.input.kind, IN_NONE); // no editing
    EXPECT_NE(std::string(t.a.msg).find("locked by the station profile "
                                        "/etc/thingpress/station.toml"),
              std::string::npos)
        << t.a.msg;
    VM m;
    vm_build(&m.v, &t.a);
    int y = m.find("  Policies");
    ASSERT_GT(y, 0);
    EXPECT_NE(m.row(y).find("locked by the station profile"), std::string::npos);
    t.key('j'); // Thing groups: not locked
    t.key(KM_ENTER);
    EXPECT_EQ(t.a.input.kind, IN_FIELD);
}

// Issue 14: a file whose kind cannot be told says why instead of
// "detecting..." for ever (console /nope.csv).
TEST(ConsoleVm, SetupSaysWhyAFileCannotBeRead)
{
    App t;
    app_choose_file(&t.a, "/nope.csv", VENDOR_AUTO, -1);
    VM m;
    vm_build(&m.v, &t.a);
    EXPECT_EQ(m.trimmed(2).substr(0, 18), "Kind: detecting...");
    app_set_file_kind(&t.a, VENDOR_AUTO,
                      "/nope.csv: cannot open: No such file or directory");
    vm_build(&m.v, &t.a);
    EXPECT_EQ(m.trimmed(2), "Kind: /nope.csv: cannot open: No such file or directory");
    EXPECT_EQ(vm_role_at(&m.v, 2, 8), ROLE_ERROR);
}

TEST(ConsoleVm, Utf8GlyphsOrAscii)
{
    App t(24, 80, 1);
    VM m;
    vm_build(&m.v, &t.a);
    every_row_is_the_width(m.v);
    EXPECT_EQ(m.trimmed(0).substr(0, 19), " thingpress \xc2\xb7 Jobs");
    t.a.utf8 = 0;
    vm_build(&m.v, &t.a);
    EXPECT_EQ(m.trimmed(0).substr(0, 18), " thingpress - Jobs");
}

TEST(ConsoleVm, PickerRows)
{
    App t;
    t.key('o');
    pk_entry f = entry("manifest-espressif.csv", PK_FILE);
    f.size = 9272;
    f.probed = 1;
    f.supported = 1;
    f.vendor = VENDOR_ESPRESSIF;
    f.count = 7;
    pk_entry g = entry("README", PK_FILE);
    g.size = 100;
    g.probed = 1;
    pk_entry h = entry("big.csv", PK_FILE);
    h.size = 123456789;
    set_dir(&t.a, "/work/testdata",
            {entry("..", PK_PARENT), entry("/samples", PK_SAMPLES), entry("mes", PK_DIR),
             f, g, h});
    VM m;
    vm_build(&m.v, &t.a);
    every_row_is_the_width(m.v);
    EXPECT_EQ(m.trimmed(1), "Folder: /work/testdata");
    EXPECT_EQ(m.trimmed(2),
              "  Name                                Kind                      "
              "Items     Size");
    EXPECT_EQ(m.trimmed(3), "  ../                                 parent folder");
    EXPECT_EQ(m.trimmed(4), "  * Bundled samples/                  sample files");
    EXPECT_EQ(m.trimmed(5), "  mes/                                folder");
    EXPECT_EQ(m.v.rows[5].role, ROLE_SELECTED);
    EXPECT_EQ(m.trimmed(6), "  manifest-espressif.csv              espressif  Phase 1    "
                            "        7     9272");
    EXPECT_EQ(vm_role_at(&m.v, 6, 38), ROLE_OK);
    EXPECT_EQ(m.trimmed(7),
              "  README                              -                      "
              "              100");
    EXPECT_EQ(vm_role_at(&m.v, 7, 2), ROLE_DIM);
    EXPECT_EQ(m.trimmed(8),
              "  big.csv                             ...                    "
              "             123M");
}

TEST(ConsoleVm, SetupForm)
{
    App t;
    app_choose_file(&t.a, "/s/manifest-espressif.csv", VENDOR_ESPRESSIF, 7);
    VM m;
    vm_build(&m.v, &t.a);
    every_row_is_the_width(m.v);
    EXPECT_EQ(m.trimmed(1), "File: /s/manifest-espressif.csv");
    EXPECT_EQ(m.trimmed(2),
              "Kind: espressif - 7 items - Phase 1: register the certificates");
    EXPECT_EQ(m.trimmed(4),
              "  Policies             BasicTestPolicy           attached to "
              "each certificate");
    EXPECT_EQ(m.v.rows[4].role, ROLE_SELECTED);
    EXPECT_EQ(m.trimmed(7),
              "  Certificate active   [ ] no                    INACTIVE until "
              "Phase 2");
    EXPECT_EQ(m.trimmed(8), "  Thing deferred       [x] yes                   things are "
                            "created in Phase 2");
    EXPECT_EQ(m.trimmed(10), "");
    EXPECT_EQ(m.trimmed(11), "  Endpoint             local                     fixed by "
                             "the command line");
    EXPECT_EQ(m.trimmed(12), "  AWS profile          (default)                 for aws; "
                             "local ignores it");
    EXPECT_EQ(m.trimmed(15),
              "Sends to: local endpoint http://127.0.0.1:4567 - account 123456789012");
    EXPECT_EQ(m.v.rows[15].role, ROLE_TARGET);
    EXPECT_EQ(m.trimmed(16), "no AWS account in use");
    // editing a field: the text and the cursor on the status line
    t.key(KM_ENTER);
    vm_build(&m.v, &t.a);
    EXPECT_EQ(m.trimmed(22), "Policies: BasicTestPolicy");
    EXPECT_EQ(m.v.rows[22].role, ROLE_INPUT);
    EXPECT_EQ(m.v.cursor_y, 22);
    EXPECT_EQ(m.v.cursor_x, 25);
    EXPECT_EQ(m.trimmed(23), "EnterOK    EscCancel Ctrl-UClear");
}

TEST(ConsoleApp, EndpointProfileRegionAreEditedAndResolved)
{
    App t;
    app_where w;
    memset(&w, 0, sizeof w);
    w.local = 1;
    app_set_where(&t.a, &w, 1);
    app_choose_file(&t.a, "/s/m.csv", VENDOR_ESPRESSIF, 7);
    t.key(KM_END);
    EXPECT_EQ(t.a.setup.field, FLD_REGION);
    // on the local endpoint, profile and region are kept for AWS: no resolve
    t.key(KM_ENTER);
    t.type("eu-west-1");
    int rx = t.key(KM_ENTER);
    EXPECT_FALSE(rx & RX_RETARGET);
    EXPECT_STREQ(t.a.where.region, "eu-west-1");
    EXPECT_FALSE(t.a.msg_error);
    // a bad endpoint is refused with what it may be
    t.key('k');
    t.key('k');
    EXPECT_EQ(t.a.setup.field, FLD_ENDPOINT);
    t.key(KM_ENTER);
    EXPECT_STREQ(t.a.input.text, "local");
    t.key(KM_CTRL('u'));
    t.type("ftp://x");
    rx = t.key(KM_ENTER);
    EXPECT_FALSE(rx & RX_RETARGET);
    EXPECT_TRUE(t.a.msg_error);
    EXPECT_NE(std::string(t.a.msg).find("'local'"), std::string::npos);
    EXPECT_EQ(t.a.where.local, 1);
    // a URL: resolve it; nothing starts until it is resolved
    t.key(KM_ENTER);
    t.key(KM_CTRL('u'));
    t.type("  https://iot.example:8443 ");
    rx = t.key(KM_ENTER);
    EXPECT_TRUE(rx & RX_RETARGET);
    EXPECT_TRUE(t.a.retargeting);
    EXPECT_EQ(t.a.where.local, 0);
    EXPECT_STREQ(t.a.where.endpoint, "https://iot.example:8443");
    EXPECT_STREQ(t.a.where.region, "eu-west-1");
    t.key(KM_ENTER);
    t.type("aws");
    EXPECT_FALSE(t.key(KM_ENTER) & RX_RETARGET); // one at a time
    EXPECT_TRUE(t.a.msg_error);
    // it failed: the previous target and `where` stay, with the reason
    rx = app_retargeted(&t.a, nullptr, "profile 'x' is in neither file");
    EXPECT_TRUE(rx & RX_DIRTY);
    EXPECT_FALSE(t.a.retargeting);
    EXPECT_EQ(t.a.where.local, 1);
    EXPECT_STREQ(t.a.where.region, "eu-west-1");
    EXPECT_EQ(t.a.target.local, 1);
    EXPECT_STREQ(t.a.msg, "profile 'x' is in neither file");
    EXPECT_TRUE(t.a.msg_error);
    // again, and this time it resolves: the target follows
    t.key(KM_ENTER);
    t.key(KM_CTRL('u'));
    t.type("aws");
    EXPECT_TRUE(t.key(KM_ENTER) & RX_RETARGET);
    EXPECT_EQ(t.a.where.endpoint[0], '\0');
    app_target nt;
    memset(&nt, 0, sizeof nt);
    snprintf(nt.endpoint, sizeof nt.endpoint, "https://iot.eu-west-1.amazonaws.com");
    snprintf(nt.describe, sizeof nt.describe, "AWS: profile -, region eu-west-1");
    snprintf(nt.region, sizeof nt.region, "eu-west-1");
    app_retargeted(&t.a, &nt, nullptr);
    EXPECT_FALSE(t.a.retargeting);
    EXPECT_EQ(t.a.target.local, 0);
    EXPECT_STREQ(t.a.target.endpoint, "https://iot.eu-west-1.amazonaws.com");
    EXPECT_STREQ(t.a.msg, "jobs now go to https://iot.eu-west-1.amazonaws.com");
    VM m;
    vm_build(&m.v, &t.a);
    EXPECT_EQ(m.trimmed(11),
              "  Endpoint             aws                       AWS IoT's, "
              "by region");
    EXPECT_EQ(m.trimmed(13), "  AWS region           eu-west-1");
    EXPECT_EQ(m.trimmed(15), "Sends to: https://iot.eu-west-1.amazonaws.com - account "
                             "(learned at the pre-fli~");
    // a running job keeps its endpoint
    ASSERT_TRUE(preview_all_ok(t, 7) & RX_START_PREVIEW);
    ASSERT_TRUE(t.key(KM_F(5)) & RX_START_JOB);
    app_run_started(&t.a, 1, nullptr);
    eng_snapshot s = snap(ENG_RUNNING, 5, 7, 2);
    app_run_update(&t.a, &s, nullptr, 0);
    app_choose_file(&t.a, "/s/m.csv", VENDOR_ESPRESSIF, 7);
    t.key(KM_END);
    t.key(KM_ENTER);
    t.type("us-east-2");
    EXPECT_FALSE(t.key(KM_ENTER) & RX_RETARGET);
    EXPECT_NE(std::string(t.a.msg).find("job is running"), std::string::npos);
}

TEST(ConsoleApp, EndpointIsFixedWithoutARetarget)
{
    App t; // app_init alone: no retarget
    app_choose_file(&t.a, "/s/m.csv", VENDOR_ESPRESSIF, 7);
    t.key(KM_END);
    t.key('k');
    t.key('k');
    t.key(KM_ENTER);
    t.key(KM_CTRL('u'));
    t.type("aws");
    EXPECT_FALSE(t.key(KM_ENTER) & RX_RETARGET);
    EXPECT_NE(std::string(t.a.msg).find("--endpoint-url"), std::string::npos);
    EXPECT_EQ(t.a.where.local, 1);
}

TEST(ConsoleVm, RunBarFollowsTheJobState)
{
    App t;
    app_choose_file(&t.a, "/s/m.csv", VENDOR_ESPRESSIF, 7);
    preview_all_ok(t, 7);
    ASSERT_TRUE(t.key(KM_F(5)) & RX_START_JOB);
    app_run_started(&t.a, 1, nullptr);
    eng_snapshot s = snap(ENG_RUNNING, 5, 7, 2);
    app_run_update(&t.a, &s, nullptr, 0);
    VM m;
    vm_build(&m.v, &t.a);
    EXPECT_EQ(m.trimmed(23), "F1Help  F2Jobs  F7Pause F8Cancel F10Quit");
    t.key('p');
    vm_build(&m.v, &t.a);
    EXPECT_EQ(m.trimmed(23), "F1Help  F2Jobs  F10Quit"); // stopping
    s.state = ENG_CANCELLED;
    app_run_update(&t.a, &s, nullptr, 0);
    vm_build(&m.v, &t.a);
    EXPECT_EQ(m.trimmed(23), "F1Help  F2Jobs  F5Resume EnterResults F10Quit");
    t.key(KM_F(5));
    app_run_started(&t.a, 1, nullptr);
    s = snap(ENG_DONE, 5, 7, 7);
    app_run_update(&t.a, &s, nullptr, 0);
    t.a.screen = APP_RUN;
    vm_build(&m.v, &t.a);
    EXPECT_EQ(m.trimmed(23), "F1Help  F2Jobs  EnterResults F10Quit");
}

TEST(ConsoleVm, PreviewTableVerdictsAndDetail)
{
    App t;
    app_choose_file(&t.a, "/s/devices.json", VENDOR_DEVICE_INFOS, 3);
    t.key(KM_F(5));
    add_rows(&t.a,
             {prow(0, "dev-0", ITEM_OK, "", 2),
              prow(1, "dev-1", ITEM_ERROR,
                   "certFingerprint has colons: remove the colons (64 hex digits)", 1),
              prow(2, "dev-2", ITEM_ERROR, "4 attributes, at most 3 without a type", 4)});
    pv_status st;
    memset(&st, 0, sizeof st);
    st.done = 1;
    st.vendor = VENDOR_DEVICE_INFOS;
    st.total = 3;
    st.ok = 1;
    st.error = 2;
    app_preview_status(&t.a, &st);
    t.key('j');
    VM m;
    vm_build(&m.v, &t.a);
    every_row_is_the_width(m.v);
    EXPECT_EQ(m.trimmed(1), "File: /s/devices.json - device-infos - Phase 2");
    EXPECT_EQ(m.trimmed(3),
              "3 items: 1 ok, 0 warn, 2 error   F5 asks to skip the 2 invalid");
    EXPECT_EQ(vm_role_at(&m.v, 3, m.col_of(3, "1 ok")), ROLE_OK);
    EXPECT_EQ(vm_role_at(&m.v, 3, m.col_of(3, "0 warn")), ROLE_NORMAL);
    EXPECT_EQ(vm_role_at(&m.v, 3, m.col_of(3, "2 error")), ROLE_ERROR);
    EXPECT_EQ(m.trimmed(4),
              "      #  Thing name         Fingerprint     Attrs Verdict Reason");
    EXPECT_EQ(m.trimmed(5), "      0  dev-0              00000000...0abc   2/3 ok");
    EXPECT_EQ(vm_role_at(&m.v, 5, 50), ROLE_OK);
    EXPECT_EQ(m.row(6), "      1  dev-1              00000000...0abd   1/3 error   "
                        "certFingerprint has c~");
    EXPECT_EQ(m.v.rows[6].role, ROLE_SELECTED);
    EXPECT_EQ(m.trimmed(7), "      2  dev-2              00000000...0abe   4/3 error   "
                            "4 attributes, at most~");
    EXPECT_EQ(vm_role_at(&m.v, 7, 50), ROLE_ERROR);
    EXPECT_EQ(vm_role_at(&m.v, 7, 47), ROLE_ERROR); // 4/3: over the limit
    // the detail pane: the selected item in full
    int d = m.find(" Item 1   (Tab scrolls this pane)");
    ASSERT_GT(d, 0);
    EXPECT_EQ(d, 24 - 2 - 6);
    EXPECT_EQ(m.trimmed(d + 1), "  Item 1");
    EXPECT_EQ(m.trimmed(d + 2),
              "  Verdict: error: certFingerprint has colons: remove the "
              "colons (64 hex digits)");
    EXPECT_EQ(m.v.rows[d + 2].role, ROLE_ERROR);
    EXPECT_EQ(m.trimmed(d + 3), "  Thing name: dev-1");
    // problems only
    t.key('f');
    vm_build(&m.v, &t.a);
    EXPECT_EQ(m.trimmed(3), "3 items: 1 ok, 0 warn, 2 error   [problems only]");
    EXPECT_EQ(vm_role_at(&m.v, 3, 35), ROLE_WARN);
    EXPECT_EQ(m.trimmed(5).substr(0, 14), "      1  dev-1");
    // the skip-invalid confirmation says how many
    t.key(KM_F(5));
    vm_build(&m.v, &t.a);
    every_row_is_the_width(m.v);
    int y = m.find("2 of 3 items are invalid");
    ASSERT_GT(y, 0);
    EXPECT_GE(m.find("provision the other 1?"), y);
    int b = m.find("[ Skip 2 invalid and start ]  [ No ]");
    ASSERT_GT(b, 0);
    EXPECT_EQ(vm_role_at(&m.v, b, m.col_of(b, "[ No ]")), ROLE_SELECTED);
    EXPECT_EQ(vm_role_at(&m.v, b, m.col_of(b, "[ Skip")), ROLE_DIALOG);
    EXPECT_EQ(m.trimmed(23), "yYes   nNo    TabSwitch EnterChoose");
}

TEST(ConsoleVm, PreviewScrollsWithTheSelection)
{
    App t(12, 80); // 12 - 7 = 5 rows, no detail pane below 20 rows
    app_choose_file(&t.a, "/s/m.csv", VENDOR_ESPRESSIF, 20);
    t.key(KM_F(5));
    std::vector<pv_row> rows;
    for (size_t i = 0; i < 20; i++)
        rows.push_back(prow(i, ("esp-" + std::to_string(i)).c_str(), ITEM_OK, ""));
    add_rows(&t.a, rows);
    for (int i = 0; i < 7; i++)
        t.key('j');
    VM m;
    vm_build(&m.v, &t.a);
    every_row_is_the_width(m.v);
    EXPECT_EQ(m.trimmed(5).substr(0, 14), "      3  esp-3");
    EXPECT_EQ(m.trimmed(9).substr(0, 14), "      7  esp-7");
    EXPECT_EQ(m.v.rows[9].role, ROLE_SELECTED);
    EXPECT_EQ(m.trimmed(10).substr(0, 31), "Validating: nothing is sent unt");
}

TEST(ConsoleVm, RunProgressRatesThrottlingAndErrors)
{
    App t;
    app_choose_file(&t.a, "/s/m.csv", VENDOR_ESPRESSIF, 8);
    t.a.screen = APP_RUN;
    t.a.run.active = 1;
    snprintf(t.a.run.file, sizeof t.a.run.file, "/s/m.csv");
    eng_snapshot s = snap(ENG_RUNNING, 4, 8, 3);
    s.failed = 1;
    s.items_per_s = 2.5;
    s.eta = 130;
    s.elapsed = 1.5;
    s.ceiling = 10;
    s.counts[ENG_REGISTERED] = 4;
    s.counts[ENG_POLICIES] = 3;
    s.calls = 9;
    s.throttles = 2;
    s.n_ops = 2;
    s.ops[0].op = iot_op_name(IOT_OP_REGISTER_CERTIFICATE_WITHOUT_CA);
    s.ops[0].tps = 9;
    s.ops[0].recent_tps = 8.5;
    s.ops[0].calls = 6;
    s.ops[0].throttles = 2;
    s.ops[1].op = iot_op_name(IOT_OP_ATTACH_POLICY);
    s.ops[1].tps = 15;
    s.ops[1].recent_tps = 3;
    s.ops[1].calls = 3;
    eng_event ev;
    memset(&ev, 0, sizeof ev);
    ev.idx = 5;
    snprintf(ev.key, sizeof ev.key, "5042C6471A9C");
    snprintf(ev.text, sizeof ev.text,
             "RegisterCertificateWithoutCA: 400 CertificateValidation");
    app_run_update(&t.a, &s, &ev, 1);
    VM m;
    vm_build(&m.v, &t.a);
    every_row_is_the_width(m.v);
    EXPECT_EQ(m.trimmed(0),
              " thingpress - Run                             job 4 running 50%  "
              "local endpoint");
    EXPECT_EQ(m.trimmed(1), "Phase 1 - /s/m.csv - job 4");
    EXPECT_EQ(m.trimmed(2),
              "Sending to: local endpoint http://127.0.0.1:4567 - account 123456789012");
    EXPECT_EQ(m.trimmed(3),
              "[##############################..............................]  "
              "50%  4/8 items");
    EXPECT_EQ(vm_role_at(&m.v, 3, 1), ROLE_BAR_DONE);
    EXPECT_EQ(vm_role_at(&m.v, 3, 31), ROLE_BAR_TODO);
    // the local endpoint has no quotas (issue 14): AWS's ceiling is shown as such
    EXPECT_EQ(m.trimmed(4),
              "2.5 items/s   ETA 02:10   elapsed 00:01   no quotas (AWS: 10 "
              "items/s)");
    EXPECT_EQ(m.trimmed(5), "Running");
    EXPECT_EQ(m.v.rows[5].role, ROLE_OK);
    EXPECT_EQ(m.trimmed(7), "registered 4   activated 0   things 0   principals 0   "
                            "policies 3   groups 0");
    EXPECT_EQ(m.trimmed(8),
              "done 3   failed 1   skipped 0   earlier 0   calls 9   retries 0"
              "   throttled 2");
    EXPECT_EQ(vm_role_at(&m.v, 8, m.col_of(8, "failed 1")), ROLE_ERROR);
    EXPECT_EQ(m.trimmed(10),
              "Operation                     rate/s   pace  quota    calls throttled");
    EXPECT_EQ(m.trimmed(11), "RegisterCertificateWithoutCA     8.5      9     10        "
                             "6         2 THROTTLED");
    EXPECT_EQ(vm_role_at(&m.v, 11, 75), ROLE_WARN);
    EXPECT_EQ(vm_role_at(&m.v, 11, 68), ROLE_WARN); // the throttle count
    EXPECT_EQ(m.trimmed(12),
              "AttachPolicy                       3     15     15        3    "
              "     0");
    EXPECT_EQ(m.trimmed(14), "Latest errors (1 in all)");
    EXPECT_EQ(m.trimmed(15), "  item 5 5042C6471A9C: RegisterCertificateWithoutCA: 400 "
                             "CertificateValidation");
    EXPECT_EQ(m.v.rows[15].role, ROLE_ERROR);
    // the throttling indicator goes after a few quiet seconds
    t.a.now += 5;
    app_run_update(&t.a, &s, nullptr, 0);
    vm_build(&m.v, &t.a);
    EXPECT_EQ(m.row(11).find("THROTTLED"), std::string::npos);
    // UTF-8 bar
    t.a.utf8 = 1;
    vm_build(&m.v, &t.a);
    every_row_is_the_width(m.v);
    EXPECT_EQ(m.row(3).substr(0, 7), "[\xe2\x96\x88\xe2\x96\x88");
    // paused
    s.state = ENG_PAUSED;
    t.key('p');
    app_run_update(&t.a, &s, nullptr, 0);
    vm_build(&m.v, &t.a);
    EXPECT_EQ(m.trimmed(5), "Paused: the job is saved in the journal; F5 resumes it");
    EXPECT_EQ(m.v.rows[5].role, ROLE_WARN);

    // issue 14: at 80 columns big counters are not cut: the calls go to
    // the next line, "throttled" and its number whole
    s.done = 49990;
    s.already = 12000;
    s.failed = 10;
    s.skipped = 1200;
    s.calls = 250000;
    s.retries = 12345;
    s.throttles = 6789;
    app_run_update(&t.a, &s, nullptr, 0);
    vm_build(&m.v, &t.a);
    every_row_is_the_width(m.v);
    EXPECT_EQ(m.trimmed(8), "done 49990   failed 10   skipped 1200   earlier 12000");
    EXPECT_EQ(m.trimmed(9), "calls 250000   retries 12345   throttled 6789");
    EXPECT_EQ(m.trimmed(10),
              "Operation                     rate/s   pace  quota    calls throttled");
}

TEST(ConsoleVm, ItemsReview)
{
    App t;
    jnl_job j = job(6, 2, JOB_DONE, "/s/devices.json", 3, 2, 0, 1);
    snprintf(j.batch_id, sizeof j.batch_id, "B-1");
    set_jobs(&t.a, {j});
    t.key(KM_ENTER);
    jnl_item *v = (jnl_item *)calloc(3, sizeof *v);
    for (int i = 0; i < 3; i++) {
        v[i].idx = (size_t)i;
        snprintf(v[i].key, sizeof v[i].key, "dev-%d", i);
        snprintf(v[i].fingerprint, sizeof v[i].fingerprint, "%064x", i + 1);
        v[i].status = i == 1 ? JNL_SKIPPED : JNL_DONE;
    }
    snprintf(v[1].error, sizeof v[1].error, "invalid: deviceId has a space");
    app_set_items(&t.a, &j, v, 3, 0);
    VM m;
    vm_build(&m.v, &t.a);
    every_row_is_the_width(m.v);
    EXPECT_EQ(m.trimmed(1), "Job 6  Phase 2  done  batch B-1  /s/devices.json");
    EXPECT_EQ(m.trimmed(2),
              "Sent to: local endpoint /s/local-endpoint.db account 123456789012");
    EXPECT_EQ(m.trimmed(3), "3 items: 2 succeeded, 0 failed, 1 skipped, 0 pending");
    EXPECT_EQ(m.trimmed(4),
              "Report: F6 writes every item with its outcome (CSV and JSON)");
    EXPECT_EQ(m.trimmed(6), "      0  dev-0               done      00000000...0001");
    EXPECT_EQ(m.trimmed(7), "      1  dev-1               skipped   00000000...0002 "
                            "invalid: deviceId has a ~");
    EXPECT_EQ(vm_role_at(&m.v, 7, 30), ROLE_WARN);
    EXPECT_EQ(vm_role_at(&m.v, 6, 30), ROLE_SELECTED);
    app_exported(&t.a, "/s/reports/job-6.csv", nullptr);
    vm_build(&m.v, &t.a);
    EXPECT_EQ(m.trimmed(4), "Report: /s/reports/job-6.csv");

    // issue 13: Tab (or Enter) on an item opens its detail: the reason in
    // full (the table cuts it), the ARNs, the attempts, its audit lines
    t.key('j'); // dev-1
    std::string reason(150, 'x');
    reason = "invalid: deviceId has a space " + reason + " END";
    snprintf(t.a.items.v[1].error, sizeof t.a.items.v[1].error, "%s", reason.c_str());
    snprintf(t.a.items.v[1].cert_arn, sizeof t.a.items.v[1].cert_arn,
             "arn:aws:iot:us-east-1:123456789012:cert/%064x", 2);
    t.a.items.v[1].attempts = 3;
    app_resize(&t.a, 40, 120);
    int rx = t.key(KM_TAB);
    EXPECT_TRUE(rx & RX_LOAD_AUDIT);
    EXPECT_TRUE(t.a.items.detail);
    EXPECT_EQ(t.a.items.detail_idx, 1u);
    vm_build(&m.v, &t.a);
    every_row_is_the_width(m.v);
    EXPECT_GE(m.find(" Item 1 dev-1"), 0);
    EXPECT_GE(m.find("Status: skipped   attempts 3"), 0);
    EXPECT_GE(m.find("Audit: reading..."), 0);
    std::string all;
    for (int y = 0; y < m.v.h; y++)
        all += m.trimmed(y) + "\n";
    EXPECT_NE(all.find("END"), std::string::npos) << all; // the whole reason, wrapped
    EXPECT_NE(all.find("Certificate: arn:aws:iot:us-east-1:123456789012:cert/0000"),
              std::string::npos)
        << all;
    // the audit lines, read by the background thread
    const char *lines =
        "{\"intent\":\"RegisterCertificateWithoutCA\",\"item\":1}\n"
        "{\"op\":\"RegisterCertificateWithoutCA\",\"item\":1,\"status\":400}\n";
    EXPECT_EQ(app_item_audit(&t.a, 99, 1, strdup(lines), 2, nullptr), RX_NONE); // stale
    EXPECT_TRUE(app_item_audit(&t.a, 6, 1, strdup(lines), 2, nullptr) & RX_DIRTY);
    vm_build(&m.v, &t.a);
    EXPECT_GE(m.find("Audit: 2 lines"), 0);
    EXPECT_GE(m.find("\"op\":\"RegisterCertificateWithoutCA\",\"item\":1,\"status\":400"),
              0);
    t.key(KM_ESC);
    EXPECT_FALSE(t.a.items.detail);
}

TEST(ConsoleVm, HelpListsTheScreensKeys)
{
    App t;
    t.a.screen = APP_RUN;
    t.key(KM_F(1));
    char **lines;
    size_t n = vm_help_lines(&t.a, &lines);
    std::string all;
    for (size_t i = 0; i < n; i++) {
        all += lines[i];
        all += "\n";
        free(lines[i]);
    }
    free(lines);
    EXPECT_NE(all.find("  F7 p                  pause: stop after the calls in flight\n"),
              std::string::npos)
        << all;
    EXPECT_NE(
        all.find("  F8 c                  cancel the run (it can be resumed later)\n"),
        std::string::npos);
    EXPECT_NE(all.find("  F1 ?                  this help\n"), std::string::npos);
    EXPECT_NE(all.find("  Enter                 the results, once finished\n"),
              std::string::npos); // Enter once, though two codes are bound
    EXPECT_NE(all.find("NO_COLOR"), std::string::npos);
    VM m;
    vm_build(&m.v, &t.a);
    every_row_is_the_width(m.v);
    EXPECT_EQ(m.trimmed(0).substr(0, 18), " thingpress - Help");
    EXPECT_EQ(m.trimmed(23), "UpScroll PgDnPage  EscClose");
}

TEST(ConsoleVm, TooSmall)
{
    App t(5, 20);
    VM m;
    vm_build(&m.v, &t.a);
    EXPECT_EQ(m.trimmed(0), "terminal too small");
}

TEST(ConsoleVm, EqualDetectsChanges)
{
    App t;
    VM a, b;
    vm_build(&a.v, &t.a);
    vm_copy(&b.v, &a.v);
    EXPECT_TRUE(vm_equal(&a.v, &b.v));
    t.key(KM_F(1));
    vm_build(&a.v, &t.a);
    EXPECT_FALSE(vm_equal(&a.v, &b.v));
}

// ---------------------------------------------------------------- screen

struct Screen {
    scr *s = nullptr;
    Screen(int h, int w, int color)
    {
        err e;
        err_clear(&e);
        if (scr_open_virtual(&s, h, w, "xterm-256color", color, &e))
            ADD_FAILURE() << e.msg;
    }
    ~Screen()
    {
        scr_close(s);
    }
    std::string row(int y)
    {
        char buf[4096];
        if (scr_read_row(s, y, buf, sizeof buf))
            return "<error>";
        return rtrim(buf);
    }
};

TEST(ConsoleScreen, DrawsTheViewModelOnAVirtualTerminal)
{
    unsetenv("NO_COLOR");
    App t(24, 80, 1);
    set_jobs(&t.a, {job(3, 1, JOB_DONE, "/x/manifest-espressif.csv", 7, 7, 0, 0),
                    job(2, 2, JOB_FAILED, "/x/devices.json", 7, 5, 2, 0)});
    VM m;
    vm_build(&m.v, &t.a);
    Screen sc(24, 80, 1);
    ASSERT_TRUE(sc.s);
    EXPECT_TRUE(scr_has_color(sc.s));
    scr_draw(sc.s, &m.v);
    for (int y = 0; y < 24; y++)
        EXPECT_EQ(sc.row(y), m.trimmed(y)) << "row " << y;
    EXPECT_EQ(sc.row(0).substr(0, 19), " thingpress \xc2\xb7 Jobs");
    // roles become attributes: the title, the selected row, a status, the keys
    EXPECT_EQ(scr_role_at(sc.s, 0, 5), ROLE_TITLE);
    EXPECT_EQ(scr_role_at(sc.s, 3, 20), ROLE_SELECTED);
    EXPECT_EQ(scr_role_at(sc.s, 4, m.col_of(4, "failed")), ROLE_ERROR);
    EXPECT_EQ(scr_role_at(sc.s, 23, 0), ROLE_KEY);
    EXPECT_EQ(scr_role_at(sc.s, 23, 3), ROLE_KEYLABEL);

    // a resize: the same screen at 120 x 40
    scr_resize(sc.s, 40, 120);
    int h, w;
    scr_size(sc.s, &h, &w);
    EXPECT_EQ(h, 40);
    EXPECT_EQ(w, 120);
    app_resize(&t.a, h, w);
    vm_build(&m.v, &t.a);
    scr_draw(sc.s, &m.v);
    for (int y = 0; y < 40; y++)
        EXPECT_EQ(sc.row(y), m.trimmed(y)) << "row " << y;
    EXPECT_NE(sc.row(2).find("Updated"), std::string::npos);
}

TEST(ConsoleScreen, NoColorUsesPlainAttributes)
{
    setenv("NO_COLOR", "1", 1);
    Screen sc(24, 80, 1);
    ASSERT_TRUE(sc.s);
    EXPECT_FALSE(scr_has_color(sc.s));
    App t(24, 80, 1);
    VM m;
    vm_build(&m.v, &t.a);
    scr_draw(sc.s, &m.v);
    EXPECT_EQ(sc.row(1), m.trimmed(1));
    EXPECT_EQ(scr_role_at(sc.s, 0, 3), ROLE_TITLE); // reverse + bold
    unsetenv("NO_COLOR");
}

// ---------------------------------------------------------------- registry check

static void preview_done(App &t, const std::vector<pv_row> &rows, size_t ok, size_t err_n)
{
    add_rows(&t.a, rows);
    pv_status st;
    memset(&st, 0, sizeof st);
    st.done = 1;
    st.vendor = VENDOR_DEVICE_INFOS;
    st.total = rows.size();
    st.ok = ok;
    st.error = err_n;
    app_preview_status(&t.a, &st);
}

static rc_result rc(size_t idx, rc_state s, const char *status = "")
{
    rc_result r;
    memset(&r, 0, sizeof r);
    r.idx = idx;
    r.state = s;
    snprintf(r.status, sizeof r.status, "%s", status);
    return r;
}

TEST(ConsoleApp, RegistryCheckStartsStopsAndFillsTheRows)
{
    App t;
    app_choose_file(&t.a, "/s/devices.json", VENDOR_DEVICE_INFOS, 3);
    t.key(KM_F(5));
    EXPECT_FALSE(t.key('c') & RX_START_CHECK); // not validated yet
    preview_done(t,
                 {prow(0, "d0", ITEM_OK, ""), prow(1, "d1", ITEM_OK, ""),
                  prow(2, "d2", ITEM_OK, "")},
                 3, 0);
    int rx = t.key(KM_F(6));
    EXPECT_TRUE(rx & RX_START_CHECK);
    EXPECT_TRUE(t.a.pv.rc_on);
    EXPECT_EQ(t.a.pv.rc_total, 3u);
    rc_result r[2] = {rc(0, RC_PRESENT, "INACTIVE"), rc(2, RC_ABSENT)};
    EXPECT_TRUE(app_check_results(&t.a, r, 2) & RX_DIRTY);
    EXPECT_TRUE(app_check_status(&t.a, 2, 3, 0) & RX_DIRTY);
    EXPECT_EQ(t.a.pv.v[0].rc_state, RC_PRESENT);
    EXPECT_STREQ(t.a.pv.v[0].rc_status, "INACTIVE");
    EXPECT_EQ(t.a.pv.v[1].rc_state, RC_PENDING);
    EXPECT_EQ(t.a.pv.v[2].rc_state, RC_ABSENT);
    EXPECT_EQ(t.a.pv.rc_inactive, 1u);
    EXPECT_EQ(t.a.pv.rc_absent, 1u);
    // issue 14: the registry is part of the verdict: Phase 2 and absent is
    // an error, among the problems, and the start dialog says so
    EXPECT_EQ(pv_row_verdict(&t.a.pv.v[2]), ITEM_ERROR);
    EXPECT_STREQ(t.a.pv.v[2].rc_msg, "not registered: run Phase 1 first");
    EXPECT_EQ(pv_row_verdict(&t.a.pv.v[0]), ITEM_OK);
    ASSERT_EQ(t.a.pv.n_problems, 1u);
    EXPECT_EQ(t.a.pv.problems[0], 2u);
    EXPECT_EQ(t.a.pv.rc_bad, 1u);
    rx = t.key(KM_F(5));
    EXPECT_FALSE(rx & RX_START_JOB);
    EXPECT_EQ(t.a.dialog, DLG_REGISTRY_ERRORS);
    VM dm;
    vm_build(&dm.v, &t.a);
    EXPECT_GE(dm.find("Items the registry refuses"), 0);
    EXPECT_GE(dm.find("The registry check says 1 of 3 items"), 0);
    t.key(KM_ESC);
    EXPECT_EQ(t.a.dialog, DLG_NONE);
    rx = t.key('c'); // a second press stops it
    EXPECT_TRUE(rx & RX_STOP_CHECK);
    EXPECT_TRUE(t.a.pv.rc_finished);
    rx = t.key('c'); // and a third starts it again, from scratch
    EXPECT_TRUE(rx & RX_START_CHECK);
    EXPECT_EQ(t.a.pv.v[0].rc_state, RC_PENDING);
    EXPECT_EQ(t.a.pv.rc_inactive, 0u);
    EXPECT_EQ(pv_row_verdict(&t.a.pv.v[2]), ITEM_OK); // its verdict is the file's again
    EXPECT_EQ(t.a.pv.n_problems, 0u);
    // another file: the results no longer apply
    app_choose_file(&t.a, "/s/other.json", VENDOR_DEVICE_INFOS, 3);
    EXPECT_FALSE(t.a.pv.rc_on);
    EXPECT_EQ(app_check_results(&t.a, r, 2), RX_NONE);
}

TEST(ConsoleVm, RegistryColumnAndSummary)
{
    App t;
    app_choose_file(&t.a, "/s/devices.json", VENDOR_DEVICE_INFOS, 3);
    t.key(KM_F(5));
    preview_done(t,
                 {prow(0, "dev-0", ITEM_OK, "", 2), prow(1, "dev-1", ITEM_OK, "", 2),
                  prow(2, "dev-2", ITEM_ERROR, "bad", 2)},
                 2, 1);
    t.key('c');
    rc_result r[2] = {rc(0, RC_PRESENT, "INACTIVE"), rc(1, RC_ABSENT)};
    app_check_results(&t.a, r, 2);
    app_check_status(&t.a, 2, 3, 0);
    VM m;
    vm_build(&m.v, &t.a);
    every_row_is_the_width(m.v);
    EXPECT_EQ(
        m.trimmed(4),
        "      #  Thing name         Fingerprint     Attrs Verdict Registry Reason");
    EXPECT_EQ(m.trimmed(5),
              "      0  dev-0              00000000...0abc   2/3 ok      INACTIVE");
    EXPECT_EQ(m.trimmed(6),
              "      1  dev-1              00000000...0abd   2/3 error   absent   "
              "not register~");
    EXPECT_EQ(m.trimmed(7),
              "      2  dev-2              00000000...0abe   2/3 error   ...      bad");
    EXPECT_EQ(vm_role_at(&m.v, 6, 58), ROLE_ERROR); // Phase 2: not registered
    EXPECT_EQ(vm_role_at(&m.v, 7, 58), ROLE_DIM);
    EXPECT_EQ(m.trimmed(22),
              "Registry (read-only): 2/3 checked: 1 INACTIVE, 1 absent (F6 stops)");
    int d = m.find(" Item 0");
    ASSERT_GT(d, 0);
    EXPECT_EQ(m.trimmed(d + 1), "  Registry: INACTIVE");
    EXPECT_NE(m.row(23).find("F6Check"), std::string::npos);
}
