/* Who runs thingpress, and where (see who.h). */
#include "base/who.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static void clean(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
}

void who_get(who *out)
{
    memset(out, 0, sizeof *out);
    uid_t uid = geteuid();
    struct passwd pw, *found = NULL;
    char buf[4096];
    if (getpwuid_r(uid, &pw, buf, sizeof buf, &found) == 0 && found && pw.pw_name &&
        *pw.pw_name)
        snprintf(out->user, sizeof out->user, "%s", pw.pw_name);
    else
        snprintf(out->user, sizeof out->user, "uid %lu", (unsigned long)uid);
    if (gethostname(out->host, sizeof out->host) != 0 || !out->host[0])
        snprintf(out->host, sizeof out->host, "unknown");
    out->host[sizeof out->host - 1] = '\0'; /* a cut name may lack its NUL */
    const char *st = getenv("THINGPRESS_STATION");
    snprintf(out->station, sizeof out->station, "%s", st && *st ? st : out->host);
    clean(out->user);
    clean(out->host);
    clean(out->station);
}
