/* The journal (see journal.h): SQLite tables for jobs and items, and the
 * audit log. The reports, which render the tables, are report.c.
 *
 * Schema (version 2):
 *   jobs(id, file, file_sha256, phase, batch_id, identity, endpoint, status,
 *        created, updated, n_total, n_done, n_failed, n_skipped,
 *        ended, endpoint_url, region, account, run_user, run_station),
 *        UNIQUE(file_sha256, identity, endpoint)
 *   items(job_id, idx, key, fingerprint, step, status, attempts, error,
 *         cert_arn, thing_arn, updated, started, finished),
 *         PRIMARY KEY(job_id, idx)
 * Version 1 had neither the jobs' run columns (ended .. run_station) nor the
 * items' started and finished. A journal is created at version 1 and brought
 * up by the migrations, so a new journal and a migrated one are the same. A
 * writer (jnl_open) migrates an older journal in one transaction; a reader
 * (jnl_open_existing) changes nothing and reads an older journal through the
 * legacy statements, which give the missing columns as empty.
 *   audit_head(id = 1, seq, lines, hash, updated): the audit log's chain
 *        head (audit.h), moved forward only; created where missing (at every
 *        writer's open), whatever the schema version
 * The n_* counts are maintained by triggers on items, inside the writer's
 * transaction, so a reader never sees counts that disagree with the rows and
 * listing jobs never scans their items. A status change also moves the job's
 * `updated`; a step-only update touches nothing but its row.
 *
 * Statements are prepared on first use and kept for the life of the journal;
 * every use ends with sqlite3_reset so no statement holds a read snapshot
 * (which would pin the WAL and hide other writers' commits). */
#include "engine/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/xalloc.h"
#include "engine/audit.h"
#include "engine/jnl_impl.h"
#include "engine/joblock.h"

#define SCHEMA_VERSION 2
#define APPLICATION_ID 0x54504a31 /* "TPJ1" */
#define BUSY_TIMEOUT_MS 10000
#define MAX_STATES ((size_t)1 << 28) /* item indexes jnl_item_states accepts */

/* clang-format off */
#define STMTS(X)                                                                          \
    X(S_BEGIN, "BEGIN IMMEDIATE")                                                         \
    X(S_COMMIT, "COMMIT")                                                                 \
    X(S_ROLLBACK, "ROLLBACK")                                                             \
    X(S_JOB_FIND, "SELECT id FROM jobs WHERE file_sha256=?1 AND identity=?2 AND "         \
      "endpoint=?3")                                                                      \
    X(S_JOB_INSERT, "INSERT INTO jobs(file,file_sha256,phase,batch_id,identity,endpoint," \
      "status,created,updated) VALUES(?1,?2,?3,?4,?5,?6,0,?7,?7)")                        \
    X(S_JOB_TOUCH, "UPDATE jobs SET file=?2,updated=max(updated,?3) WHERE id=?1")         \
    X(S_JOB_GET, "SELECT " JOB_COLS " FROM jobs WHERE id=?1")                             \
    X(S_JOB_LIST, "SELECT " JOB_COLS " FROM jobs ORDER BY updated DESC,id DESC "          \
      "LIMIT ?1")                                                                         \
    X(S_JOB_STATUS, "UPDATE jobs SET status=?2,updated=max(updated,?3),"                  \
      "ended=CASE WHEN ?2=0 THEN NULL ELSE ?3 END WHERE id=?1")                           \
    X(S_JOB_RUN, "UPDATE jobs SET endpoint_url=?2,region=?3,account=?4,run_user=?5,"      \
      "run_station=?6 WHERE id=?1")                                                       \
    X(S_ITEM_ADD, "INSERT INTO items(job_id,idx,key,fingerprint,step,status,attempts,"    \
      "error,updated) VALUES(?1,?2,?3,?4,0,?5,0,?6,?7) "                                  \
      "ON CONFLICT(job_id,idx) DO NOTHING")                                               \
    X(S_ITEM_UPDATE, "UPDATE items SET step=?3,status=?4,attempts=?5,"                    \
      "error=CASE WHEN ?6 IS NULL THEN (CASE WHEN ?4=1 THEN NULL ELSE error END) "        \
      "WHEN ?6='' THEN NULL ELSE ?6 END,"                                                 \
      "cert_arn=coalesce(?7,cert_arn),thing_arn=coalesce(?8,thing_arn),updated=?9,"       \
      "started=coalesce(started,?10),"                                                    \
      "finished=CASE WHEN ?4 IN (1,2) THEN ?11 WHEN ?4=0 THEN NULL ELSE finished END "    \
      "WHERE job_id=?1 AND idx=?2")                                                       \
    X(S_ITEM_STATES, "SELECT idx,step,status,attempts FROM items WHERE job_id=?1 "        \
      "ORDER BY idx")                                                                     \
    X(S_ITEM_LIST, ITEM_LIST(ITEM_COLS))                                                 \
    X(S_HEAD_PUT, "INSERT INTO audit_head(id,seq,lines,hash,updated) "                    \
      "VALUES(1,?1,?2,?3,?4) ON CONFLICT(id) DO UPDATE SET seq=excluded.seq,"              \
      "lines=excluded.lines,hash=excluded.hash,updated=excluded.updated "                 \
      "WHERE excluded.seq>audit_head.seq OR (excluded.seq=audit_head.seq AND "            \
      "excluded.lines>audit_head.lines)")
/* clang-format on */

/* The columns job_row and item_row read; a journal of version 1 (read, not
 * migrated, by jnl_open_existing) gives the later ones as empty. */
#define JOB_COLS_1                                                                       \
    "id,file,file_sha256,phase,batch_id,identity,endpoint,status,created,updated,"       \
    "n_total,n_done,n_failed,n_skipped"
#define JOB_COLS                                                                         \
    JOB_COLS_1 ",coalesce(ended,0),endpoint_url,region,account,run_user,run_station"
#define JOB_COLS_V1 JOB_COLS_1 ",0,'','','','',''"
#define ITEM_COLS_1                                                                      \
    "idx,key,fingerprint,step,status,attempts,error,cert_arn,thing_arn,updated"
#define ITEM_COLS ITEM_COLS_1 ",coalesce(started,0),coalesce(finished,0)"
#define ITEM_COLS_V1 ITEM_COLS_1 ",0,0"
#define ITEM_LIST(cols)                                                                  \
    "SELECT " cols " FROM items WHERE job_id=?1 AND (?2=-1 OR status=?2 OR "             \
    "(?2=-2 AND status IN (2,3))) ORDER BY idx LIMIT ?3 OFFSET ?4"

enum {
#define STMT_ENUM(id, sql) id,
    STMTS(STMT_ENUM)
#undef STMT_ENUM
        S_COUNT
};

static const char *const stmt_sql[S_COUNT] = {
#define STMT_SQL(id, sql) sql,
    STMTS(STMT_SQL)
#undef STMT_SQL
};

/* The reads of a version 1 journal (jnl_open_existing migrates nothing). */
static const char *const stmt_sql_v1[S_COUNT] = {
    [S_JOB_GET] = "SELECT " JOB_COLS_V1 " FROM jobs WHERE id=?1",
    [S_JOB_LIST] = "SELECT " JOB_COLS_V1 " FROM jobs ORDER BY updated DESC,id DESC "
                   "LIMIT ?1",
    [S_ITEM_LIST] = ITEM_LIST(ITEM_COLS_V1),
};

/* Run once, in the transaction that creates the journal: version 1, which
 * the migrations then bring up to SCHEMA_VERSION. */
static const char schema[] =
    "CREATE TABLE jobs("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " file TEXT NOT NULL,"
    " file_sha256 TEXT NOT NULL,"
    " phase INTEGER NOT NULL,"
    " batch_id TEXT NOT NULL DEFAULT '',"
    " identity TEXT NOT NULL,"
    " endpoint TEXT NOT NULL DEFAULT '',"
    " status INTEGER NOT NULL DEFAULT 0,"
    " created INTEGER NOT NULL,"
    " updated INTEGER NOT NULL,"
    " n_total INTEGER NOT NULL DEFAULT 0,"
    " n_done INTEGER NOT NULL DEFAULT 0,"
    " n_failed INTEGER NOT NULL DEFAULT 0,"
    " n_skipped INTEGER NOT NULL DEFAULT 0,"
    " UNIQUE(file_sha256, identity, endpoint));"
    "CREATE TABLE items("
    " job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
    " idx INTEGER NOT NULL,"
    " key TEXT NOT NULL DEFAULT '',"
    " fingerprint TEXT NOT NULL DEFAULT '',"
    " step INTEGER NOT NULL DEFAULT 0,"
    " status INTEGER NOT NULL DEFAULT 0,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " error TEXT,"
    " cert_arn TEXT,"
    " thing_arn TEXT,"
    " updated INTEGER NOT NULL,"
    " PRIMARY KEY(job_id, idx));"
    "CREATE TRIGGER items_ai AFTER INSERT ON items BEGIN"
    " UPDATE jobs SET n_total=n_total+1, n_done=n_done+(new.status=1),"
    " n_failed=n_failed+(new.status=2), n_skipped=n_skipped+(new.status=3),"
    " updated=max(updated,new.updated) WHERE id=new.job_id; END;"
    "CREATE TRIGGER items_au AFTER UPDATE OF status ON items"
    " WHEN old.status IS NOT new.status BEGIN"
    " UPDATE jobs SET n_done=n_done+(new.status=1)-(old.status=1),"
    " n_failed=n_failed+(new.status=2)-(old.status=2),"
    " n_skipped=n_skipped+(new.status=3)-(old.status=3),"
    " updated=max(updated,new.updated) WHERE id=new.job_id; END;"
    "CREATE TRIGGER items_ad AFTER DELETE ON items BEGIN"
    " UPDATE jobs SET n_total=n_total-1, n_done=n_done-(old.status=1),"
    " n_failed=n_failed-(old.status=2), n_skipped=n_skipped-(old.status=3)"
    " WHERE id=old.job_id; END;";

/* migrations[v - 1] brings a journal of version v to version v + 1. */
static const char *const migrations[SCHEMA_VERSION - 1] = {
    /* 2: who ran a job and where, when it ended; when each item started and
     * finished (unix ms). A job that had ended took `updated` then. */
    "ALTER TABLE jobs ADD COLUMN ended INTEGER;"
    "ALTER TABLE jobs ADD COLUMN endpoint_url TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE jobs ADD COLUMN region TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE jobs ADD COLUMN account TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE jobs ADD COLUMN run_user TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE jobs ADD COLUMN run_station TEXT NOT NULL DEFAULT '';"
    "UPDATE jobs SET ended=updated WHERE status<>0;"
    "ALTER TABLE items ADD COLUMN started INTEGER;"
    "ALTER TABLE items ADD COLUMN finished INTEGER;",
};
/* Run at every writer's open: journals made before it lack it. */
static const char head_table[] = "CREATE TABLE IF NOT EXISTS audit_head("
                                 " id INTEGER PRIMARY KEY CHECK(id = 1),"
                                 " seq INTEGER NOT NULL,"
                                 " lines INTEGER NOT NULL,"
                                 " hash TEXT NOT NULL,"
                                 " updated INTEGER NOT NULL)";

struct journal {
    sqlite3 *db;
    sqlite3_stmt *st[S_COUNT];
    char dir[PATH_MAX];
    char db_path[PATH_MAX];
    long long version; /* the schema's: SCHEMA_VERSION, or older when only read */
    /* The audit log (audit.h: any thread); the chain head last recorded
     * in the journal by this process (the owner thread's). */
    aud_log *audit;
    aud_head head_saved;
};

const char *jnl_status_name(jnl_status st)
{
    switch (st) {
    case JNL_PENDING:
        return "pending";
    case JNL_DONE:
        return "done";
    case JNL_FAILED:
        return "failed";
    case JNL_SKIPPED:
        return "skipped";
    }
    return "unknown";
}

const char *jnl_job_status_name(jnl_job_status st)
{
    switch (st) {
    case JOB_RUNNING:
        return "running";
    case JOB_DONE:
        return "done";
    case JOB_FAILED:
        return "failed";
    case JOB_CANCELLED:
        return "cancelled";
    case JOB_PAUSED:
        return "paused";
    }
    return "unknown";
}

const char *jnl_dir(const journal *j)
{
    return j->dir;
}

/* ---- errors ---- */

/* Out of room: a full disk, a quota, a file size limit. ERR_LIMIT marks
 * these errors, so callers can say "free space". */
static int no_room(int os_errno)
{
    return os_errno == ENOSPC || os_errno == EDQUOT || os_errno == EFBIG;
}

/* The OS error behind SQLite's last I/O failure: the one the failing file
 * kept (the write-ahead log's, else the database's), since
 * sqlite3_system_errno reads errno after SQLite's own clean-up calls. */
static int os_error(journal *j)
{
    int os = 0;
    sqlite3_file *wal = NULL;
    if (sqlite3_file_control(j->db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &wal) ==
            SQLITE_OK &&
        wal && wal->pMethods &&
        wal->pMethods->xFileControl(wal, SQLITE_FCNTL_LAST_ERRNO, &os) == SQLITE_OK && os)
        return os;
    if (sqlite3_file_control(j->db, "main", SQLITE_FCNTL_LAST_ERRNO, &os) == SQLITE_OK &&
        os)
        return os;
    return sqlite3_system_errno(j->db);
}

/* One line for a SQLite failure, saying what to do about it; an I/O failure
 * names the OS error. */
static void db_fail(journal *j, int rc, err *e)
{
    int base = rc & 0xff;
    const char *msg = sqlite3_errmsg(j->db);
    int os = base == SQLITE_IOERR || base == SQLITE_FULL ? os_error(j) : 0;
    if (base == SQLITE_FULL || (base == SQLITE_IOERR && no_room(os))) {
        if (os)
            err_set(e, ERR_LIMIT, j->db_path, 0, -1, "database or disk is full (%s)",
                    strerror(os));
        else
            err_set(e, ERR_LIMIT, j->db_path, 0, -1, "database or disk is full");
        return;
    }
    if (base == SQLITE_IOERR && os) {
        err_set(e, ERR_IO, j->db_path, 0, -1, "%s (%s)", msg, strerror(os));
        return;
    }
    switch (base) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        err_set(e, ERR_IO, j->db_path, 0, -1,
                "the journal is locked by another thingpress process; wait for it to "
                "finish or use another --state DIR");
        break;
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
        err_set(e, ERR_FORMAT, j->db_path, 0, -1,
                "not a thingpress journal, or damaged (%s): move it away or use another "
                "--state DIR",
                msg);
        break;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_CANTOPEN:
        err_set(e, ERR_IO, j->db_path, 0, -1, "%s: check the permissions of %s", msg,
                j->dir);
        break;
    default:
        err_set(e, ERR_IO, j->db_path, 0, -1, "journal: %s", msg);
        break;
    }
}

/* The statement, reset, ready for binding; NULL (e set) if it cannot be
 * prepared. */
static sqlite3_stmt *stmt(journal *j, int id, err *e)
{
    if (!j->st[id]) {
        const char *sql =
            j->version < 2 && stmt_sql_v1[id] ? stmt_sql_v1[id] : stmt_sql[id];
        int rc = sqlite3_prepare_v3(j->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &j->st[id],
                                    NULL);
        if (rc != SQLITE_OK) {
            db_fail(j, rc, e);
            return NULL;
        }
    }
    sqlite3_reset(j->st[id]);
    return j->st[id];
}

/* Steps a statement that returns no row, then resets it. */
static int run(journal *j, sqlite3_stmt *s, err *e)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        db_fail(j, rc, e);
        return -1;
    }
    return 0;
}

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
    sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
}

static void col_copy(char *dst, size_t n, sqlite3_stmt *s, int col)
{
    const unsigned char *v = sqlite3_column_text(s, col);
    snprintf(dst, n, "%s", v ? (const char *)v : "");
}

static long long now_s(void)
{
    return (long long)time(NULL);
}

long long jnl_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the state directory ---- */

int jnl_make_dirs(const char *dir, err *e)
{
    char p[PATH_MAX];
    if (snprintf(p, sizeof p, "%s", dir) >= (int)sizeof p) {
        err_set(e, ERR_USAGE, dir, 0, -1, "state directory path is too long");
        return -1;
    }
    size_t len = strlen(p);
    while (len > 1 && p[len - 1] == '/')
        p[--len] = '\0';
    for (char *c = p + 1;; c++) {
        if (*c != '/' && *c != '\0')
            continue;
        char saved = *c;
        *c = '\0';
        struct stat sb;
        if (mkdir(p, 0700) == 0) {
            /* the umask may have taken bits away; 0700 is what we want */
            if (chmod(p, 0700) != 0) {
                err_set(e, ERR_IO, p, 0, -1, "cannot set mode 0700: %s", strerror(errno));
                return -1;
            }
        } else if (errno != EEXIST) {
            err_set(e, ERR_IO, p, 0, -1,
                    "cannot create the state directory: %s (use --state DIR)",
                    strerror(errno));
            return -1;
        } else if (stat(p, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
            err_set(e, ERR_IO, p, 0, -1,
                    "exists and is not a directory: cannot hold the journal (use --state "
                    "DIR)");
            return -1;
        }
        *c = saved;
        if (saved == '\0')
            break;
    }
    return 0;
}

int jnl_state_dir(char *out, size_t n, const char *state_dir, err *e)
{
    int w;
    const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    if (state_dir && *state_dir)
        w = snprintf(out, n, "%s", state_dir);
    else if (xdg && xdg[0] == '/') /* XDG: relative values are to be ignored */
        w = snprintf(out, n, "%s/thingpress", xdg);
    else if (home && *home)
        w = snprintf(out, n, "%s/.local/state/thingpress", home);
    else {
        err_set(e, ERR_USAGE, NULL, 0, -1,
                "no state directory: HOME is unset and XDG_STATE_HOME is not an absolute "
                "path (use --state DIR)");
        return -1;
    }
    if (w < 0 || (size_t)w >= n) {
        err_set(e, ERR_USAGE, NULL, 0, -1, "state directory path is too long");
        return -1;
    }
    return 0;
}

/* ---- open / close ---- */

static int exec_sql(journal *j, const char *sql, err *e)
{
    int rc = sqlite3_exec(j->db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        db_fail(j, rc, e);
        return -1;
    }
    return 0;
}

static int pragma_int(journal *j, const char *sql, long long *v, err *e)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(j->db, sql, -1, &s, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(s);
        if (rc == SQLITE_ROW) {
            *v = sqlite3_column_int64(s, 0);
            rc = SQLITE_OK;
        }
    }
    if (rc != SQLITE_OK)
        db_fail(j, rc, e);
    sqlite3_finalize(s);
    return rc == SQLITE_OK ? 0 : -1;
}

typedef enum { DB_EMPTY, DB_OURS, DB_BAD } db_kind;

/* What the open database is: empty (never initialised), a journal of a
 * version we read (j->version), or something else (e set). */
static int inspect(journal *j, db_kind *kind, err *e)
{
    long long app = 0, ver = 0, objects = 0;
    if (pragma_int(j, "PRAGMA application_id", &app, e) ||
        pragma_int(j, "PRAGMA user_version", &ver, e) ||
        pragma_int(j, "SELECT count(*) FROM sqlite_master", &objects, e))
        return -1;
    if (app == APPLICATION_ID) {
        if (ver > SCHEMA_VERSION) {
            err_set(
                e, ERR_FORMAT, j->db_path, 0, -1,
                "journal schema version %lld is newer than this thingpress reads (%d): "
                "upgrade thingpress or use another --state DIR",
                ver, SCHEMA_VERSION);
            *kind = DB_BAD;
            return -1;
        }
        *kind = DB_OURS;
        j->version = ver;
        return 0;
    }
    if (app == 0 && ver == 0 && objects == 0) {
        *kind = DB_EMPTY;
        return 0;
    }
    err_set(e, ERR_FORMAT, j->db_path, 0, -1,
            "not a thingpress journal (another application's database): move it away or "
            "use another --state DIR");
    *kind = DB_BAD;
    return -1;
}

/* Creates the schema of an empty journal, or brings an older one up to
 * SCHEMA_VERSION, in one transaction. */
static int create_or_migrate(journal *j, err *e)
{
    if (exec_sql(j, "BEGIN IMMEDIATE", e))
        return -1;
    db_kind kind;
    /* another process may have created or migrated it since we looked */
    if (inspect(j, &kind, e))
        goto fail;
    if (kind == DB_EMPTY) {
        char pragmas[64];
        snprintf(pragmas, sizeof pragmas, "PRAGMA application_id=%d;", APPLICATION_ID);
        if (exec_sql(j, schema, e) || exec_sql(j, pragmas, e))
            goto fail;
        j->version = 1;
    }
    if (j->version < SCHEMA_VERSION) {
        for (long long v = j->version; v < SCHEMA_VERSION; v++)
            if (exec_sql(j, migrations[v - 1], e))
                goto fail;
        char pragma[48];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version=%d;", SCHEMA_VERSION);
        if (exec_sql(j, pragma, e))
            goto fail;
    }
    if (exec_sql(j, "COMMIT", e))
        goto fail;
    j->version = SCHEMA_VERSION;
    return 0;
fail:
    sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

static int open_db(journal **out, const char *state_dir, int create, err *e)
{
    *out = NULL;
    journal *j = xcalloc(1, sizeof *j);
    if (jnl_state_dir(j->dir, sizeof j->dir, state_dir, e))
        goto fail;
    /* room for every file name under it (reports/job-ID.json.tmp) */
    if (strlen(j->dir) > sizeof j->dir - 64) {
        err_set(e, ERR_USAGE, j->dir, 0, -1, "state directory path is too long");
        goto fail;
    }
    snprintf(j->db_path, sizeof j->db_path, "%s/journal.db", j->dir);
    j->audit = aud_log_new(j->dir);
    struct stat sb;
    if (create) {
        if (jnl_make_dirs(j->dir, e))
            goto fail;
        /* owner-only, like the directory; SQLite gives -wal and -shm the
         * database's mode */
        int fd = open(j->db_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0) {
            fchmod(fd, 0600); /* past the umask */
            close(fd);
        } else if (errno != EEXIST) {
            err_set(e, ERR_IO, j->db_path, 0, -1,
                    "cannot create the journal: %s (check the permissions of %s)",
                    strerror(errno), j->dir);
            goto fail;
        }
    } else if (stat(j->db_path, &sb) != 0) {
        err_set(e, ERR_IO, NULL, 0, -1,
                "no journal in %s: nothing has been provisioned yet", j->dir);
        goto fail;
    }
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_EXRESCODE | SQLITE_OPEN_NOMUTEX;
    if (create)
        flags |= SQLITE_OPEN_CREATE;
    int rc = sqlite3_open_v2(j->db_path, &j->db, flags, NULL);
    if (rc != SQLITE_OK) {
        if (!j->db)
            base_fatal("sqlite3_open_v2");
        db_fail(j, rc, e);
        goto fail;
    }
    sqlite3_busy_timeout(j->db, BUSY_TIMEOUT_MS);
    db_kind kind;
    if (inspect(j, &kind, e))
        goto fail;
    if (kind == DB_EMPTY && !create) {
        err_set(e, ERR_IO, NULL, 0, -1,
                "no journal in %s: nothing has been provisioned yet", j->dir);
        goto fail;
    }
    if (create) {
        /* WAL is a property of the file: set once, kept; harmless to repeat */
        if (exec_sql(j, "PRAGMA journal_mode=WAL", e))
            goto fail;
        if ((kind == DB_EMPTY || j->version < SCHEMA_VERSION) && create_or_migrate(j, e))
            goto fail;
        if (exec_sql(j, head_table, e))
            goto fail;
    }
    if (exec_sql(j, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON", e))
        goto fail;
    *out = j;
    return 0;
fail:
    jnl_close(j);
    return -1;
}

int jnl_open(journal **out, const char *state_dir, err *e)
{
    return open_db(out, state_dir, 1, e);
}

int jnl_open_existing(journal **out, const char *state_dir, err *e)
{
    return open_db(out, state_dir, 0, e);
}

void jnl_close(journal *j)
{
    if (!j)
        return;
    if (j->db && !sqlite3_get_autocommit(j->db))
        sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
    for (int i = 0; i < S_COUNT; i++)
        sqlite3_finalize(j->st[i]);
    sqlite3_close(j->db);
    aud_log_free(j->audit);
    free(j);
}

/* ---- transactions ---- */

/* The audit log's lines on disk, then its chain head in the journal (in
 * the open transaction, or by itself), when it moved. */
static int audit_sync(journal *j, err *e)
{
    aud_head h;
    if (aud_sync(j->audit, &h, e))
        return -1;
    if (!aud_head_after(&h, &j->head_saved))
        return 0;
    sqlite3_stmt *s = stmt(j, S_HEAD_PUT, e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, h.seq);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)h.lines);
    bind_text(s, 3, h.hash);
    sqlite3_bind_int64(s, 4, now_s());
    if (run(j, s, e))
        return -1;
    j->head_saved = h;
    return 0;
}

int jnl_begin(journal *j, err *e)
{
    if (!sqlite3_get_autocommit(j->db)) {
        err_set(e, ERR_INTERNAL, j->db_path, 0, -1,
                "jnl_begin inside an open transaction");
        return -1;
    }
    sqlite3_stmt *s = stmt(j, S_BEGIN, e);
    return s ? run(j, s, e) : -1;
}

int jnl_commit(journal *j, err *e)
{
    if (audit_sync(j, e)) {
        jnl_rollback(j);
        return -1;
    }
    if (sqlite3_get_autocommit(j->db))
        return 0;
    sqlite3_stmt *s = stmt(j, S_COMMIT, e);
    if (!s || run(j, s, e)) {
        jnl_rollback(j);
        return -1;
    }
    return 0;
}

void jnl_rollback(journal *j)
{
    if (sqlite3_get_autocommit(j->db))
        return;
    sqlite3_stmt *s = stmt(j, S_ROLLBACK, NULL);
    if (s)
        run(j, s, NULL);
}

/* ---- jobs ---- */

int jnl_job_open(journal *j, const char *file, const char *file_sha256, int phase,
                 const char *batch_id, const char *identity, const char *endpoint,
                 long long *job_id, int *resumed, err *e)
{
    *job_id = 0;
    *resumed = 0;
    if (!endpoint)
        endpoint = "";
    sqlite3_stmt *s = stmt(j, S_JOB_FIND, e);
    if (!s)
        return -1;
    bind_text(s, 1, file_sha256);
    bind_text(s, 2, identity);
    bind_text(s, 3, endpoint);
    int rc = sqlite3_step(s);
    long long found = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        db_fail(j, rc, e);
        return -1;
    }
    long long now = now_s();
    if (found) {
        if (!(s = stmt(j, S_JOB_TOUCH, e)))
            return -1;
        sqlite3_bind_int64(s, 1, found);
        bind_text(s, 2, file);
        sqlite3_bind_int64(s, 3, now);
        if (run(j, s, e))
            return -1;
        *job_id = found;
        *resumed = 1;
        return 0;
    }
    if (!(s = stmt(j, S_JOB_INSERT, e)))
        return -1;
    bind_text(s, 1, file);
    bind_text(s, 2, file_sha256);
    sqlite3_bind_int(s, 3, phase);
    bind_text(s, 4, batch_id ? batch_id : "");
    bind_text(s, 5, identity);
    bind_text(s, 6, endpoint);
    sqlite3_bind_int64(s, 7, now);
    if (run(j, s, e))
        return -1;
    *job_id = sqlite3_last_insert_rowid(j->db);
    return 0;
}

static void job_row(sqlite3_stmt *s, jnl_job *o)
{
    memset(o, 0, sizeof *o);
    o->id = sqlite3_column_int64(s, 0);
    col_copy(o->file, sizeof o->file, s, 1);
    col_copy(o->file_sha256, sizeof o->file_sha256, s, 2);
    o->phase = sqlite3_column_int(s, 3);
    col_copy(o->batch_id, sizeof o->batch_id, s, 4);
    col_copy(o->identity, sizeof o->identity, s, 5);
    col_copy(o->endpoint, sizeof o->endpoint, s, 6);
    o->status = (jnl_job_status)sqlite3_column_int(s, 7);
    o->created = sqlite3_column_int64(s, 8);
    o->updated = sqlite3_column_int64(s, 9);
    o->total = (size_t)sqlite3_column_int64(s, 10);
    o->done = (size_t)sqlite3_column_int64(s, 11);
    o->failed = (size_t)sqlite3_column_int64(s, 12);
    o->skipped = (size_t)sqlite3_column_int64(s, 13);
    o->ended = sqlite3_column_int64(s, 14);
    col_copy(o->endpoint_url, sizeof o->endpoint_url, s, 15);
    col_copy(o->region, sizeof o->region, s, 16);
    col_copy(o->account, sizeof o->account, s, 17);
    col_copy(o->user, sizeof o->user, s, 18);
    col_copy(o->station, sizeof o->station, s, 19);
}

/* Who runs the job now, from its OS lock. */
static void job_runner(journal *j, jnl_job *o)
{
    long pid = 0;
    if (joblock_holder(j->dir, o->id, &pid, o->runner_host, sizeof o->runner_host))
        o->runner_pid = pid > 0 ? pid : -1;
}

int jnl_job_get(journal *j, long long job_id, jnl_job *out, err *e)
{
    sqlite3_stmt *s = stmt(j, S_JOB_GET, e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, job_id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        job_row(s, out);
        job_runner(j, out);
    }
    sqlite3_reset(s);
    if (rc == SQLITE_DONE) {
        err_set(e, ERR_USAGE, NULL, 0, -1,
                "no job %lld in the journal in %s ('thingpress status' lists the jobs)",
                job_id, j->dir);
        return -1;
    }
    if (rc != SQLITE_ROW) {
        db_fail(j, rc, e);
        return -1;
    }
    return 0;
}

int jnl_job_set_status(journal *j, long long job_id, jnl_job_status st, err *e)
{
    sqlite3_stmt *s = stmt(j, S_JOB_STATUS, e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, job_id);
    sqlite3_bind_int(s, 2, (int)st);
    sqlite3_bind_int64(s, 3, now_s());
    if (run(j, s, e))
        return -1;
    if (sqlite3_changes(j->db) == 0) {
        err_set(e, ERR_INTERNAL, j->db_path, 0, -1, "no job %lld in the journal", job_id);
        return -1;
    }
    return 0;
}

int jnl_job_set_run(journal *j, long long job_id, const jnl_run *r, err *e)
{
    sqlite3_stmt *s = stmt(j, S_JOB_RUN, e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, job_id);
    bind_text(s, 2, r->endpoint_url ? r->endpoint_url : "");
    bind_text(s, 3, r->region ? r->region : "");
    bind_text(s, 4, r->account ? r->account : "");
    bind_text(s, 5, r->user ? r->user : "");
    bind_text(s, 6, r->station ? r->station : "");
    if (run(j, s, e))
        return -1;
    if (sqlite3_changes(j->db) == 0) {
        err_set(e, ERR_INTERNAL, j->db_path, 0, -1, "no job %lld in the journal", job_id);
        return -1;
    }
    return 0;
}

int jnl_job_list(journal *j, jnl_job *out, size_t *n, err *e)
{
    size_t cap = *n;
    *n = 0;
    sqlite3_stmt *s = stmt(j, S_JOB_LIST, e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, cap > INT64_MAX ? INT64_MAX : (sqlite3_int64)cap);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && *n < cap) {
        job_row(s, &out[*n]);
        job_runner(j, &out[(*n)++]);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        db_fail(j, rc, e);
        return -1;
    }
    return 0;
}

/* ---- items ---- */

/* Translates a failed item write: an unknown job is the caller's mistake. */
static int item_fail(journal *j, int rc, long long job_id, err *e)
{
    if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
        err_set(e, ERR_INTERNAL, j->db_path, 0, -1,
                "no job %lld in the journal for this item", job_id);
    else
        db_fail(j, rc, e);
    return -1;
}

int jnl_item_add(journal *j, long long job_id, size_t idx, const char *key,
                 const char *fingerprint, jnl_status st, const char *error, err *e)
{
    sqlite3_stmt *s = stmt(j, S_ITEM_ADD, e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, job_id);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)idx);
    bind_text(s, 3, key ? key : "");
    bind_text(s, 4, fingerprint ? fingerprint : "");
    sqlite3_bind_int(s, 5, (int)st);
    if (error && *error)
        bind_text(s, 6, error);
    else
        sqlite3_bind_null(s, 6);
    sqlite3_bind_int64(s, 7, now_s());
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : item_fail(j, rc, job_id, e);
}

int jnl_item_update(journal *j, long long job_id, size_t idx, int step, jnl_status st,
                    int attempts, const char *error, const char *cert_arn,
                    const char *thing_arn, const jnl_times *t, err *e)
{
    sqlite3_stmt *s = stmt(j, S_ITEM_UPDATE, e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, job_id);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)idx);
    sqlite3_bind_int(s, 3, step);
    sqlite3_bind_int(s, 4, (int)st);
    sqlite3_bind_int(s, 5, attempts);
    bind_text(s, 6, error); /* NULL binds NULL */
    bind_text(s, 7, cert_arn);
    bind_text(s, 8, thing_arn);
    sqlite3_bind_int64(s, 9, now_s());
    long long now = t && t->started > 0 && t->at > 0 ? 0 : jnl_now_ms();
    sqlite3_bind_int64(s, 10, t && t->started > 0 ? t->started : now);
    sqlite3_bind_int64(s, 11, t && t->at > 0 ? t->at : now);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return item_fail(j, rc, job_id, e);
    if (sqlite3_changes(j->db) == 0) {
        err_set(e, ERR_INTERNAL, j->db_path, 0, (long)idx,
                "item %zu of job %lld is not in the journal (jnl_item_add first)", idx,
                job_id);
        return -1;
    }
    return 0;
}

int jnl_item_states(journal *j, long long job_id, jnl_item_state **out, size_t *n, err *e)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *s = stmt(j, S_ITEM_STATES, e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, job_id);
    /* one statement, one snapshot: rows come in idx order, gaps are filled */
    jnl_item_state *v = NULL;
    size_t len = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        sqlite3_int64 idx = sqlite3_column_int64(s, 0);
        if (idx < 0 || (uint64_t)idx >= MAX_STATES) {
            sqlite3_reset(s);
            free(v);
            err_set(e, ERR_LIMIT, j->db_path, 0, -1,
                    "job %lld has an item index out of range (%lld)", job_id,
                    (long long)idx);
            return -1;
        }
        size_t need = (size_t)idx + 1;
        if (need > cap) {
            size_t nc = cap ? cap : 1024;
            while (nc < need)
                nc *= 2;
            v = xrealloc(v, nc * sizeof *v);
            cap = nc;
        }
        for (; len < (size_t)idx; len++)
            v[len] = (jnl_item_state){.step = -1, .status = JNL_PENDING};
        v[idx].step = sqlite3_column_int(s, 1);
        v[idx].status = (jnl_status)sqlite3_column_int(s, 2);
        v[idx].attempts = sqlite3_column_int(s, 3);
        len = need;
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        free(v);
        db_fail(j, rc, e);
        return -1;
    }
    *out = v;
    *n = len;
    return 0;
}

static void item_row(sqlite3_stmt *s, jnl_item *o)
{
    memset(o, 0, sizeof *o);
    o->idx = (size_t)sqlite3_column_int64(s, 0);
    col_copy(o->key, sizeof o->key, s, 1);
    col_copy(o->fingerprint, sizeof o->fingerprint, s, 2);
    o->step = sqlite3_column_int(s, 3);
    o->status = (jnl_status)sqlite3_column_int(s, 4);
    o->attempts = sqlite3_column_int(s, 5);
    col_copy(o->error, sizeof o->error, s, 6);
    col_copy(o->cert_arn, sizeof o->cert_arn, s, 7);
    col_copy(o->thing_arn, sizeof o->thing_arn, s, 8);
    o->updated = sqlite3_column_int64(s, 9);
    o->started = sqlite3_column_int64(s, 10);
    o->finished = sqlite3_column_int64(s, 11);
}

/* Binds the item list query; limit -1 = no limit. */
static sqlite3_stmt *item_query(journal *j, long long job_id, int filter,
                                sqlite3_int64 limit, sqlite3_int64 offset, err *e)
{
    sqlite3_stmt *s = stmt(j, S_ITEM_LIST, e);
    if (!s)
        return NULL;
    sqlite3_bind_int64(s, 1, job_id);
    sqlite3_bind_int(s, 2, filter);
    sqlite3_bind_int64(s, 3, limit);
    sqlite3_bind_int64(s, 4, offset);
    return s;
}

int jnl_item_list(journal *j, long long job_id, int status_filter, size_t offset,
                  jnl_item *out, size_t *n, err *e)
{
    size_t cap = *n;
    *n = 0;
    if (cap == 0)
        return 0;
    sqlite3_stmt *s = item_query(
        j, job_id, status_filter, cap > INT64_MAX ? INT64_MAX : (sqlite3_int64)cap,
        offset > INT64_MAX ? INT64_MAX : (sqlite3_int64)offset, e);
    if (!s)
        return -1;
    int rc = SQLITE_DONE;
    while (*n < cap && (rc = sqlite3_step(s)) == SQLITE_ROW)
        item_row(s, &out[(*n)++]);
    if (*n == cap)
        rc = SQLITE_DONE;
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        db_fail(j, rc, e);
        return -1;
    }
    return 0;
}

int jnl_item_each(journal *j, long long job_id, int status_filter, jnl_item_fn fn,
                  void *ctx, err *e)
{
    sqlite3_stmt *s = item_query(j, job_id, status_filter, -1, 0, e);
    if (!s)
        return -1;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        jnl_item it;
        item_row(s, &it);
        if (fn(ctx, &it))
            break;
    }
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        db_fail(j, rc, e);
        return -1;
    }
    return 0;
}

/* ---- audit log ---- */

int jnl_audit(journal *j, long long job_id, const char *event, const char *json, err *e)
{
    const char *a = json ? json : "";
    size_t len = strlen(a);
    while (len && (a[len - 1] == ' ' || a[len - 1] == '\n' || a[len - 1] == '\r' ||
                   a[len - 1] == '\t'))
        len--;
    while (len && (*a == ' ' || *a == '\n' || *a == '\r' || *a == '\t')) {
        a++;
        len--;
    }
    if (len < 2 || a[0] != '{' || a[len - 1] != '}') {
        err_set(e, ERR_INTERNAL, j->dir, 0, -1,
                "audit.jsonl: an audit record must be a JSON object");
        return -1;
    }
    /* the members, without the braces and the blanks around them */
    const char *body = a + 1;
    size_t blen = len - 2;
    while (blen && (*body == ' ' || *body == '\t' || *body == '\n' || *body == '\r')) {
        body++;
        blen--;
    }
    while (blen && (body[blen - 1] == ' ' || body[blen - 1] == '\t' ||
                    body[blen - 1] == '\n' || body[blen - 1] == '\r'))
        blen--;
    return aud_append(j->audit, event, job_id, body, blen, e);
}

int jnl_audit_sync(journal *j, err *e)
{
    return aud_sync(j->audit, NULL, e);
}

void jnl_audit_rotate_at(journal *j, size_t bytes)
{
    aud_log_rotate_at(j->audit, bytes);
}

void jnl_audit_stats(journal *j, unsigned long long *lines, unsigned long long *syncs)
{
    aud_log_stats(j->audit, lines, syncs);
}

/* The chain head the journal in dir records: 0 (found or not: h->seq 0),
 * or -1 (e set) when the journal exists but cannot be read. */
static int head_of(const char *dir, aud_head *h, err *e)
{
    memset(h, 0, sizeof *h);
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/journal.db", dir);
    struct stat sb;
    if (stat(path, &sb) != 0 && errno == ENOENT)
        return 0;
    journal *j;
    if (jnl_open_existing(&j, dir, e))
        return -1;
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(j->db, "SELECT seq,lines,hash FROM audit_head WHERE id=1",
                                -1, &s, NULL);
    if (rc == SQLITE_ERROR) { /* no such table: written by an older version */
        rc = SQLITE_DONE;
    } else if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        h->seq = (unsigned)sqlite3_column_int64(s, 0);
        h->lines = (unsigned long long)sqlite3_column_int64(s, 1);
        col_copy(h->hash, sizeof h->hash, s, 2);
        rc = SQLITE_DONE;
    }
    if (rc != SQLITE_DONE)
        db_fail(j, rc, e);
    sqlite3_finalize(s);
    jnl_close(j);
    return rc == SQLITE_DONE ? 0 : -1;
}

int jnl_audit_verify(const char *state_dir, aud_verdict *v, aud_head *head)
{
    memset(v, 0, sizeof *v);
    memset(head, 0, sizeof *head);
    char dir[PATH_MAX];
    err e;
    err_clear(&e);
    struct stat sb;
    if (jnl_state_dir(dir, sizeof dir, state_dir, &e)) {
        v->status = AUD_UNREADABLE;
        snprintf(v->reason, sizeof v->reason, "%s", e.msg);
        return v->status;
    }
    int st = stat(dir, &sb);
    if (st != 0 || !S_ISDIR(sb.st_mode)) {
        v->status = AUD_UNREADABLE;
        snprintf(v->file, sizeof v->file, "%s", dir);
        snprintf(v->reason, sizeof v->reason, "no state directory here (%s)",
                 st ? strerror(errno) : "not a directory");
        return v->status;
    }
    /* the head first: the log holds at least what it records (synced before
     * it was recorded), whatever is appended while the files are read */
    if (head_of(dir, head, &e)) {
        v->status = AUD_UNREADABLE;
        snprintf(v->file, sizeof v->file, "%s", e.where);
        snprintf(v->reason, sizeof v->reason, "%s", e.msg);
        return v->status;
    }
    return aud_verify(dir, head, v);
}
