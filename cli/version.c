/* thingpress --version: the version, the commit and build date of a stamped
 * build ("unknown" otherwise: cli/BUILD, //cli:build_info), and the version
 * of each library as the running process has it (their runtime functions, so
 * a library upgraded under the binary shows). */
#include <archive.h>
#include <jansson.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "cli/build_info.h"
#include "cli/cmd.h"
#include "console/console.h"
#include "iot/client.h"

/* "libarchive 3.6.2" -> "3.6.2": the name is printed once, in the left column. */
static const char *after_name(const char *v, const char *name)
{
    size_t n = strlen(name);
    if (v && !strncmp(v, name, n) && v[n] == ' ')
        return v + n + 1;
    return v ? v : "?";
}

int cli_version(void)
{
    const char *mhd = MHD_get_version();
    printf("thingpress %s\n", TP_VERSION);
    printf("commit        %s\n", TP_COMMIT);
    printf("built         %s\n", TP_BUILD_DATE);
    printf("libcurl       %s\n", iot_curl_version());
    printf("OpenSSL       %s\n", OpenSSL_version(OPENSSL_VERSION_STRING));
    printf("Jansson       %s\n", jansson_version_str());
    printf("SQLite        %s\n", sqlite3_libversion());
    printf("libarchive    %s\n", after_name(archive_version_string(), "libarchive"));
    printf("ncurses       %s\n", after_name(con_curses_version(), "ncurses"));
    printf("libmicrohttpd %s\n", mhd ? mhd : "?");
    return EXIT_GOOD;
}
