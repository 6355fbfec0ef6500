/* The plan of an item's steps (see plan.h). */
#include "engine/plan.h"

static const iot_op step_op[PLAN_N_KINDS] = {
    [ST_REGISTER] = IOT_OP_REGISTER_CERTIFICATE_WITHOUT_CA,
    [ST_ACTIVATE] = IOT_OP_UPDATE_CERTIFICATE,
    [ST_CREATE_THING] = IOT_OP_CREATE_THING,
    [ST_ATTACH_PRINCIPAL] = IOT_OP_ATTACH_THING_PRINCIPAL,
    [ST_ATTACH_POLICY] = IOT_OP_ATTACH_POLICY,
    [ST_ADD_GROUP] = IOT_OP_ADD_THING_TO_THING_GROUP,
};

static const eng_count step_count[PLAN_N_KINDS] = {
    [ST_REGISTER] = ENG_REGISTERED,    [ST_ACTIVATE] = ENG_ACTIVATED,
    [ST_CREATE_THING] = ENG_THINGS,    [ST_ATTACH_PRINCIPAL] = ENG_PRINCIPALS,
    [ST_ATTACH_POLICY] = ENG_POLICIES, [ST_ADD_GROUP] = ENG_GROUPS,
};

iot_op plan_step_op(step_kind k)
{
    return (unsigned)k < PLAN_N_KINDS ? step_op[k] : IOT_OP_NONE;
}

eng_count plan_step_count(step_kind k)
{
    return (unsigned)k < PLAN_N_KINDS ? step_count[k] : ENG_REGISTERED;
}

_Static_assert(PLAN_MAX_STEPS >= 4 + JOBCFG_MAX_POLICIES + JOBCFG_MAX_THING_GROUPS,
               "a plan within the AWS limits fits in plan.steps");

int plan_build(plan *p, int phase, const jobcfg *cfg)
{
    int n = 0;
    p->n = 0;
    if (cfg->n_policies > JOBCFG_MAX_POLICIES ||
        cfg->n_thing_groups > JOBCFG_MAX_THING_GROUPS)
        return -1; /* jobcfg_check refuses it first; never overflow steps[] */
    /* Activation last (DESIGN.md §6): a certificate becomes ACTIVE only once
     * everything else of its item is in place, so a failed item leaves it
     * INACTIVE. Register is always INACTIVE; UpdateCertificate ACTIVE is
     * idempotent, and also activates a certificate registered INACTIVE
     * before (Register answers 409) without asking DescribeCertificate. */
    if (phase == 1)
        p->steps[n++] = (step){ST_REGISTER, 0};
    if (phase == 1)
        for (size_t i = 0; i < cfg->n_policies; i++)
            p->steps[n++] = (step){ST_ATTACH_POLICY, (int)i};
    if (phase == 2 || !cfg->thing_deferred) {
        p->steps[n++] = (step){ST_CREATE_THING, 0};
        p->steps[n++] = (step){ST_ATTACH_PRINCIPAL, 0};
    }
    if (phase == 2)
        for (size_t i = 0; i < cfg->n_policies; i++)
            p->steps[n++] = (step){ST_ATTACH_POLICY, (int)i};
    if (phase == 2 || !cfg->thing_deferred)
        for (size_t i = 0; i < cfg->n_thing_groups; i++)
            p->steps[n++] = (step){ST_ADD_GROUP, (int)i};
    if (phase == 2 || cfg->cert_active)
        p->steps[n++] = (step){ST_ACTIVATE, 0};
    p->n = n;
    return 0;
}

double plan_ceiling(const plan *p, rate *const *rates)
{
    double calls[IOT_OP_COUNT] = {0};
    for (int i = 0; i < p->n; i++)
        calls[plan_step_op(p->steps[i].kind)] += 1;
    double best = 0;
    for (int op = 0; op < IOT_OP_COUNT; op++) {
        if (!calls[op])
            continue;
        rate_stats st;
        rate_get_stats(rates[op], &st);
        if (st.tps <= 0)
            continue;
        double c = st.tps / calls[op];
        if (best == 0 || c < best)
            best = c;
    }
    return best;
}
