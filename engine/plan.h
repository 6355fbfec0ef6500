/* plan - the steps of an item, the same for every item of a job. Private to
 * engine/.
 *
 * Design (DESIGN.md §6, the call plan): Phase 1 registers the certificate
 * (INACTIVE) and attaches each policy, then, unless the thing is deferred,
 * creates the thing, attaches the certificate to it and adds it to each
 * group; with cert_active it activates the certificate last. Phase 2 creates
 * the thing with its type and attributes, attaches the certificate, each
 * policy and each group, and activates the certificate last: a failed item
 * leaves its certificate INACTIVE. A step is one AWS call; the journal
 * records an item's progress as the number of steps done, so the order of a
 * plan is part of the journal's meaning (a
 * resumed job continues at step n of the same plan). Each kind of step calls
 * one operation of iot/ops.def and counts as one kind of progress.
 *
 * Threading: a plan is built once, before the workers start, and only read
 * after that. Ownership: plain values. */
#ifndef TP_ENGINE_PLAN_H
#define TP_ENGINE_PLAN_H

#ifndef TP_ENGINE_PRIVATE
#error "engine/plan.h is private to engine/ (engine/BUILD)"
#endif

#include "engine/engine.h"
#include "engine/jobcfg.h"
#include "engine/rate.h"
#include "iot/op.h"

typedef enum step_kind {
    ST_REGISTER,
    ST_ACTIVATE,
    ST_CREATE_THING,
    ST_ATTACH_PRINCIPAL,
    ST_ATTACH_POLICY,
    ST_ADD_GROUP,
} step_kind;

enum { PLAN_N_KINDS = ST_ADD_GROUP + 1 };

typedef struct step {
    step_kind kind;
    int arg; /* policy or group index */
} step;

enum { PLAN_MAX_STEPS = 64 };

typedef struct plan {
    step steps[PLAN_MAX_STEPS];
    int n;
} plan;

/* The plan of every item of a job of this phase (1 or 2) and configuration.
 * Returns 0, or -1 when cfg exceeds the AWS limits (jobcfg.h) and p->n = 0. */
int plan_build(plan *p, int phase, const jobcfg *cfg);
/* The operation a step of kind k calls. */
iot_op plan_step_op(step_kind k);
/* What a step of kind k counts as, for progress. */
eng_count plan_step_count(step_kind k);
/* Items per second the pacers allow: min over the plan's operations of the
 * rate / calls per item; 0 = unlimited. rates is indexed by iot_op. */
double plan_ceiling(const plan *p, rate *const *rates);

#endif
