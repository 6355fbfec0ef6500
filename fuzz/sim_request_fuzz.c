/* The sim's request handling (sim/sim.c's pipeline without the socket):
 * routing of method + wire path (sim/route.c, label percent-decoding), the
 * SigV4 verdict against the sim's credentials, then the registry operation
 * itself (sim/reg.c: JSON body, query parameters, paging tokens, names,
 * attributes, certificate PEM, ARNs) on a fresh in-memory registry.
 *
 * Input: up to 16 raw HTTP/1.1 requests back to back (fuzz_http.h; each body
 * is Content-Length bytes), applied in order to one registry, so a request
 * can meet the resources the earlier ones created. Unlike the server, the
 * registry runs whatever the signature verdict (the fuzzer cannot sign; the
 * verifier has its own target, sigv4_fuzz).
 *
 * Checks what clients rely on: every reply is a JSON object; an error reply
 * has a 4xx/5xx status and a code, a success reply has neither. */
#include <jansson.h>

#include "base/xalloc.h"
#include "fuzz/fuzz_common.h"
#include "fuzz/fuzz_http.h"
#include "iot/sigv4.h"
#include "sim/reg.h"
#include "sim/route.h"

#define MAX_REQUESTS 16

static const char *lookup(void *ctx, const char *akid)
{
    (void)ctx;
    return strcmp(akid, "AKIDEXAMPLE") ? NULL
                                       : "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
}

static void check_reply(const reg_reply *rp)
{
    if (rp->status < 200 || rp->status > 599)
        abort();
    if ((rp->status >= 300) != (rp->error != NULL))
        abort();
    json_error_t je;
    json_t *j = json_loadb(rp->body.data ? rp->body.data : "", rp->body.len, 0, &je);
    if (!json_is_object(j)) {
        fprintf(stderr, "fuzz: reply %d is not a JSON object: %.200s\n", rp->status,
                rp->body.data ? rp->body.data : "");
        abort();
    }
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    reg *r = NULL;
    reg_opts o = {.db_path = NULL, .account = "123456789012", .region = "us-east-1"};
    err e;
    err_clear(&e);
    if (reg_open(&r, &o, &e))
        abort();
    size_t off = 0;
    for (int n = 0; n < MAX_REQUESTS && off < size; n++) {
        fz_req q = {0};
        size_t used = fz_http_parse(&q, data + off, size - off);
        if (!used) {
            fz_req_free(&q);
            break;
        }
        off += used;

        const char *qm = strchr(q.target, '?');
        size_t plen = qm ? (size_t)(qm - q.target) : strlen(q.target);
        buf label = BUF_INIT;
        route_op op = route_match(q.method, q.target, plen, &label);
        (void)route_name(op);

        char *path = xstrndup(q.target, plen);
        sigv4_request sr = {q.method, path,   qm ? qm + 1 : NULL, q.h,
                            q.n,      q.body, q.body_len};
        char why[300];
        (void)sigv4_verify(&sr, "us-east-1", "iot,execute-api", 1764346500LL, lookup,
                           NULL, why, sizeof why);
        free(path);

        reg_req rq = {
            .op = op,
            .label = label.data ? label.data : "",
            .query = qm ? qm + 1 : NULL,
            .principal = fz_header(&q, "x-amzn-principal", NULL),
            .body = (const char *)q.body,
            .body_len = q.body_len,
        };
        reg_reply rp;
        reg_reply_init(&rp);
        reg_do(r, &rq, &rp);
        if (getenv("FZ_DEBUG"))
            fprintf(stderr, "fuzz: %s %s -> %d %s\n", q.method, q.target, rp.status,
                    rp.error ? rp.error : "");
        check_reply(&rp);
        reg_reply_free(&rp);
        buf_free(&label);
        fz_req_free(&q);
    }
    reg_close(r);
    return 0;
}
