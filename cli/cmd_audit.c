/* thingpress audit verify [--state DIR]: checks the audit log's hash chain
 * (DESIGN.md §7, engine/audit.h). Reads only: it creates nothing, and it
 * can run while jobs append to the log (it checks the lines there when it
 * starts).
 *
 * Exit status: 0 intact; 1 broken, naming the first bad line (FILE:LINE and
 * why) on stderr; 2 unreadable (no log, a file or the journal cannot be
 * read) or a bad invocation. */
#include <stdio.h>
#include <string.h>

#include "cli/cmd.h"
#include "engine/journal.h"

static const char help[] =
    "usage: thingpress audit verify [--state DIR]\n"
    "\n"
    "Check the audit log's hash chain: each line's \"prev\" is the SHA-256 of the\n"
    "line before it, through the rotated files (audit-000001.jsonl, ...) to\n"
    "audit.jsonl, and the log still holds the last line the journal recorded (so\n"
    "a changed, deleted, inserted or moved line, or a cut-off end, is found).\n"
    "\n"
    "  --state DIR   the state directory (default: $XDG_STATE_HOME/thingpress or\n"
    "                ~/.local/state/thingpress)\n"
    "\n"
    "Exit status: 0 intact; 1 broken (the first bad line, FILE:LINE, and why, on\n"
    "stderr); 2 unreadable (no log, a file or the journal cannot be read) or a bad\n"
    "invocation.\n";

/* The file the chain numbers seq: audit.jsonl while it is the newest. */
static void file_name(char *out, size_t n, unsigned seq, const aud_verdict *v)
{
    if (seq == v->current_seq)
        snprintf(out, n, "audit.jsonl");
    else
        snprintf(out, n, "audit-%06u.jsonl", seq);
}

static int verify(const char *state)
{
    aud_verdict v;
    aud_head head;
    int st = jnl_audit_verify(state, &v, &head);
    if (st == AUD_UNREADABLE) {
        cli_error("audit log unreadable: %s%s%s", v.file, v.file[0] ? ": " : "",
                  v.reason);
        return EXIT_REJECTED;
    }
    if (st == AUD_BROKEN) {
        if (v.line)
            cli_error("audit log broken at %s:%llu: %s", v.file, v.line, v.reason);
        else
            cli_error("audit log broken: %s: %s", v.file, v.reason);
        return EXIT_ITEMS;
    }
    char last[64];
    file_name(last, sizeof last, v.last.seq, &v);
    printf("audit log intact: %llu lines in %u file%s; the last is %s:%llu (sha256 %s)\n",
           v.lines, v.files, v.files == 1 ? "" : "s", last, v.last.lines,
           v.lines ? v.last.hash : "-");
    if (v.head_checked) {
        char h[64];
        file_name(h, sizeof h, head.seq, &v);
        printf("the journal's chain head, %s:%llu, is in the log\n", h, head.lines);
    } else {
        printf("no chain head in the journal: a cut-off end could not be checked\n");
    }
    if (v.unchained)
        printf(
            "%u file%s audit-unchained-*.jsonl, written before the chain, not checked\n",
            v.unchained, v.unchained == 1 ? "" : "s");
    return EXIT_GOOD;
}

int cmd_audit(int argc, char **argv)
{
    const char *state = NULL, *sub = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(help, stdout);
            return EXIT_GOOD;
        }
        if (!strcmp(a, "--state") || !strncmp(a, "--state=", 8)) {
            const char *v = a[7] == '=' ? a + 8 : i + 1 < argc ? argv[++i] : "";
            if (!*v) {
                cli_error("--state: expected a directory");
                return EXIT_REJECTED;
            }
            state = v;
            continue;
        }
        if (a[0] == '-' && a[1]) {
            cli_error("audit: unknown option '%s' (try 'thingpress audit --help')", a);
            return EXIT_REJECTED;
        }
        if (sub) {
            cli_error("audit: one command only ('%s' and '%s')", sub, a);
            return EXIT_REJECTED;
        }
        sub = a;
    }
    if (!sub || strcmp(sub, "verify")) {
        cli_error("audit: expected 'verify'%s%s%s (try 'thingpress audit --help')",
                  sub ? ", got '" : "", sub ? sub : "", sub ? "'" : "");
        return EXIT_REJECTED;
    }
    return verify(state);
}
