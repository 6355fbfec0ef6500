/* op - the AWS IoT operations as values (the table is iot/ops.def).
 *
 * Design: iot/ops.def is the one list of operations; this header turns it
 * into an enum and a const table of facts (name, method, path template,
 * default quota, whether it mutates, label). iot/ builds requests from it,
 * sim/ routes and meters with it, engine/ paces with its quotas, console/ and
 * cli/ label with it. No operation name is spelled anywhere else.
 *
 * Threading: any thread; constant data. Pointers returned are static. No
 * dependency beyond libc, so every module may use it. */
#ifndef TP_IOT_OP_H
#define TP_IOT_OP_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum iot_op {
    IOT_OP_NONE = -1,
#define IOT_OP(id, name, method, path, tps, mutates, label) IOT_OP_##id,
#include "iot/ops.def"
#undef IOT_OP
    IOT_OP_COUNT
} iot_op;

typedef struct iot_op_info {
    const char *name;   /* "CreateThing" */
    const char *method; /* "POST" */
    const char *path;   /* "/things/{}" */
    double tps;         /* AWS's default quota, calls per second */
    int mutates;        /* 1: can change the registry */
    const char *label;  /* "create thing" */
} iot_op_info;

/* The facts of op; NULL when op is out of range. */
const iot_op_info *iot_op_get(iot_op op);
/* The AWS name of op ("CreateThing"), or "Unknown" out of range. */
const char *iot_op_name(iot_op op);
/* The operation named name (exact, case-sensitive), or IOT_OP_NONE. */
iot_op iot_op_by_name(const char *name);
/* AWS's default quota of the operation named name, or 0 when unknown. */
double iot_op_default_tps(const char *name);

#ifdef __cplusplus
}
#endif
#endif
