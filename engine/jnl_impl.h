/* jnl_impl - what the journal's two files share: journal.c (the SQLite
 * tables and the audit log) and report.c (the reports rendered from them).
 * Private to engine/.
 *
 * Design: the report streams every item of a job, however many, so it reads
 * the rows through a callback over one statement (jnl_item_list pages, and
 * paging costs O(offset)); it creates reports/ as the journal creates the
 * state directory, mode 0700.
 *
 * Threading and ownership: as journal.h (the journal's owner thread). */
#ifndef TP_ENGINE_JNL_IMPL_H
#define TP_ENGINE_JNL_IMPL_H

#ifndef TP_ENGINE_PRIVATE
#error "engine/jnl_impl.h is private to engine/ (engine/BUILD)"
#endif

#include "base/err.h"
#include "engine/journal.h"

/* Calls fn for every item of the job in idx order that matches status_filter
 * (as jnl_item_list), until fn returns nonzero. The item is valid during the
 * call only. 0, or -1 (e set) when the journal cannot be read. */
typedef int (*jnl_item_fn)(void *ctx, const jnl_item *it);
int jnl_item_each(journal *j, long long job_id, int status_filter, jnl_item_fn fn,
                  void *ctx, err *e);

#endif
