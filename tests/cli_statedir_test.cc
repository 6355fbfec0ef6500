// One state-directory rule (issue 12): `thingpress provision` (its journal,
// job lock, report and embedded endpoint database), `thingpress status` and
// the journal opened through the C API with no directory all settle on the
// same directory, for --state, an absolute XDG_STATE_HOME, a relative one
// (ignored, as the XDG spec says), HOME only, and neither (refused by all).
#include <gtest/gtest.h>

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <string>

#include "engine/journal.h"
#include "tests/testutil.h"

namespace
{

struct Result {
    int rc = -1;
    std::string out, err;
};

std::string abs_path(const std::string &p)
{
    char b[PATH_MAX];
    return realpath(p.c_str(), b) ? std::string(b) : p;
}

bool exists(const std::string &p)
{
    struct stat sb;
    return stat(p.c_str(), &sb) == 0;
}

// A case's world: ROOT/cwd (where the commands run), ROOT/home, ROOT/xdg.
struct World {
    std::string root, cwd, home, xdg, file;
    explicit World(const std::string &name)
    {
        const char *t = getenv("TEST_TMPDIR");
        root = std::string(t ? t : "/tmp") + "/statedir-" + name;
        cwd = root + "/cwd";
        home = root + "/home";
        xdg = root + "/xdg";
        mkdir(root.c_str(), 0700);
        mkdir(cwd.c_str(), 0700);
        mkdir(home.c_str(), 0700);
        mkdir(xdg.c_str(), 0700);
        // two certificates and an invalid line: --skip-invalid gives a report
        std::ifstream in("testdata/generated/certificates_test.txt");
        std::string l1, l2;
        std::getline(in, l1);
        std::getline(in, l2);
        file = cwd + "/certs.txt";
        std::ofstream(file) << l1 << "\n" << l2 << "\nbm90IGEgY2VydA==\n";
    }

    // Runs thingpress in cwd with only these variables (NULL: unset).
    Result run(const char *home_v, const char *xdg_v, const std::string &args) const
    {
        std::string errf = root + "/stderr.txt";
        std::string cmd = "cd '" + cwd + "' && env -i PATH=/usr/bin:/bin TZ=UTC";
        if (home_v)
            cmd += std::string(" HOME='") + home_v + "'";
        if (xdg_v)
            cmd += std::string(" XDG_STATE_HOME='") + xdg_v + "'";
        cmd += " '" + abs_path("cli/thingpress") + "' " + args + " 2>'" + errf + "'";
        Result r;
        FILE *p = popen(cmd.c_str(), "r");
        std::array<char, 4096> b;
        size_t n;
        while ((n = fread(b.data(), 1, b.size(), p)) > 0)
            r.out.append(b.data(), n);
        int st = pclose(p);
        r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        r.err = tu::slurp(errf);
        return r;
    }
};

// The journal's own rule in this process, with the same variables.
std::string journal_dir(const char *home_v, const char *xdg_v, std::string *error)
{
    std::string old_home = getenv("HOME") ? getenv("HOME") : "";
    std::string old_xdg = getenv("XDG_STATE_HOME") ? getenv("XDG_STATE_HOME") : "";
    bool had_home = getenv("HOME"), had_xdg = getenv("XDG_STATE_HOME");
    home_v ? setenv("HOME", home_v, 1) : unsetenv("HOME");
    xdg_v ? setenv("XDG_STATE_HOME", xdg_v, 1) : unsetenv("XDG_STATE_HOME");
    journal *j = nullptr;
    err e;
    err_clear(&e);
    std::string dir;
    if (jnl_open_existing(&j, nullptr, &e) == 0)
        dir = jnl_dir(j);
    else if (error)
        *error = e.msg;
    jnl_close(j);
    had_home ? setenv("HOME", old_home.c_str(), 1) : unsetenv("HOME");
    had_xdg ? setenv("XDG_STATE_HOME", old_xdg.c_str(), 1) : unsetenv("XDG_STATE_HOME");
    return dir;
}

// Provisions the file, then checks that everything landed in want and that
// `status` and the journal's default find it there.
void expect_state_in(const World &w, const char *home_v, const char *xdg_v,
                     const std::string &extra, const std::string &want)
{
    Result p =
        w.run(home_v, xdg_v, "provision --local --skip-invalid " + extra + " certs.txt");
    ASSERT_EQ(1, p.rc) << "one item skipped\n" << p.out << p.err;
    EXPECT_TRUE(exists(want + "/journal.db")) << want;
    EXPECT_TRUE(exists(want + "/audit.jsonl")) << want;
    EXPECT_TRUE(exists(want + "/locks/job-1.lock")) << want;
    EXPECT_TRUE(exists(want + "/reports/job-1.csv")) << want;
    EXPECT_TRUE(exists(want + "/local-endpoint.db")) << want;
    // the report the command names is that one
    size_t at = p.out.find("report: ");
    ASSERT_NE(std::string::npos, at) << p.out;
    std::string shown = p.out.substr(at + 8, p.out.find('\n', at) - at - 8);
    if (shown[0] != '/')
        shown = w.cwd + "/" + shown;
    EXPECT_EQ(abs_path(want + "/reports/job-1.csv"), abs_path(shown));
    // nothing anywhere else: not in the working directory
    EXPECT_FALSE(exists(w.cwd + "/rel")) << "a relative XDG_STATE_HOME was used";
    EXPECT_FALSE(exists(w.cwd + "/.local"))
        << "state written under the working directory";

    Result s = w.run(home_v, xdg_v, "status " + extra + " --output json");
    EXPECT_EQ(0, s.rc) << s.err;
    EXPECT_NE(std::string::npos, s.out.find("{\"job\":1,")) << s.out;
    EXPECT_NE(std::string::npos, s.out.find("\"state_dir\": \"" + want + "\"")) << s.out;
    if (extra.empty()) {
        EXPECT_EQ(want, journal_dir(home_v, xdg_v, nullptr));
    }
}

} // namespace

TEST(StateDir, StateOptionWins)
{
    World w("option");
    std::string dir = w.root + "/given";
    expect_state_in(w, w.home.c_str(), w.xdg.c_str(), "--state '" + dir + "'", dir);
}

TEST(StateDir, AbsoluteXdgStateHome)
{
    World w("xdg");
    expect_state_in(w, w.home.c_str(), w.xdg.c_str(), "", w.xdg + "/thingpress");
}

TEST(StateDir, RelativeXdgStateHomeIsIgnored)
{
    World w("xdg-relative");
    expect_state_in(w, w.home.c_str(), "rel", "", w.home + "/.local/state/thingpress");
}

TEST(StateDir, HomeOnly)
{
    World w("home");
    expect_state_in(w, w.home.c_str(), nullptr, "", w.home + "/.local/state/thingpress");
}

TEST(StateDir, NeitherHomeNorXdgIsRefusedByAll)
{
    World w("none");
    Result p = w.run(nullptr, "rel", "provision --local certs.txt");
    EXPECT_EQ(2, p.rc) << p.out << p.err;
    EXPECT_NE(std::string::npos, p.err.find("no state directory")) << p.err;
    EXPECT_NE(std::string::npos, p.err.find("--state")) << p.err;
    EXPECT_FALSE(exists(w.cwd + "/rel"));
    EXPECT_FALSE(exists(w.cwd + "/.local"));
    Result s = w.run(nullptr, nullptr, "status");
    EXPECT_EQ(2, s.rc) << s.out;
    EXPECT_NE(std::string::npos, s.err.find("no state directory")) << s.err;
    std::string error;
    EXPECT_EQ("", journal_dir(nullptr, "rel", &error));
    EXPECT_NE(std::string::npos, error.find("no state directory")) << error;
}
