/* op - the operation table (see op.h and ops.def). */
#include "iot/op.h"

#include <string.h>

static const iot_op_info table[IOT_OP_COUNT] = {
#define IOT_OP(id, name, method, path, tps, mutates, label)                              \
    [IOT_OP_##id] = {name, method, path, tps, mutates, label},
#include "iot/ops.def"
#undef IOT_OP
};

const iot_op_info *iot_op_get(iot_op op)
{
    return (unsigned)op < IOT_OP_COUNT ? &table[op] : NULL;
}

const char *iot_op_name(iot_op op)
{
    return (unsigned)op < IOT_OP_COUNT ? table[op].name : "Unknown";
}

iot_op iot_op_by_name(const char *name)
{
    /* The first-letter test keeps this cheap on the sim's per-request path
     * (quota and fault lookups). */
    if (name)
        for (int i = 0; i < IOT_OP_COUNT; i++)
            if (name[0] == table[i].name[0] && !strcmp(table[i].name, name))
                return (iot_op)i;
    return IOT_OP_NONE;
}

double iot_op_default_tps(const char *name)
{
    iot_op op = iot_op_by_name(name);
    return op == IOT_OP_NONE ? 0 : table[op].tps;
}
