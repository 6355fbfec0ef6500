/* reg_cert - the local endpoint's certificates: RegisterCertificateWithoutCA,
 * UpdateCertificate, DescribeCertificate, ListCertificates (see reg_impl.h).
 *
 * Rules, as AWS IoT's (DESIGN.md §5, §6):
 * - RegisterCertificateWithoutCA: certificatePem <= 65,536 chars and exactly
 *   one well-framed X.509 certificate (else 400 CertificateValidationException);
 *   certificateId = lowercase hex SHA-256 of the DER; a second registration
 *   of the same DER is 409 ResourceAlreadyExistsException carrying
 *   resourceId/resourceArn; status ACTIVE, INACTIVE or REVOKED (default
 *   INACTIVE, as RegisterCertificate's).
 * - UpdateCertificate: newStatus ACTIVE, INACTIVE or REVOKED; REVOKED is
 *   terminal (406 CertificateStateException), the same status is a no-op.
 * - A certificate ARN given as a principal or policy target must be one of
 *   this account and region (reg_cert_of_arn).
 *
 * Threading: any server thread; r->mu around the statements only (the PEM is
 * parsed before it is taken).
 * Ownership: the DER of a registered PEM is the operation's, freed before it
 * returns; the store keeps the PEM text as sent. */
#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parsers/cert.h"
#include "parsers/item.h"
#include "parsers/validate.h"
#include "sim/reg_impl.h"
#include "sim/route.h"

static int parse_status(const char *s)
{
    return s && (!strcmp(s, "ACTIVE") || !strcmp(s, "INACTIVE") || !strcmp(s, "REVOKED"));
}

void reg_op_register(reg_ctx *c)
{
    const char *pem, *status;
    unsigned char *der = NULL;
    size_t der_len = 0;
    char why[ITEM_MSG_MAX], id[65], gen[33];
    buf a = BUF_INIT;
    if (reg_body_str(c, "certificatePem", &pem) < 0 ||
        reg_body_str(c, "status", &status) < 0)
        goto out;
    if (!pem) {
        reg_bad_request(c, "certificatePem is required");
        goto out;
    }
    size_t pem_len = json_string_length(json_object_get(c->body, "certificatePem"));
    if (pem_len > VAL_MAX_PEM_CHARS) {
        reg_bad_request(c, "certificatePem has %zu characters, more than the %d allowed",
                        pem_len, VAL_MAX_PEM_CHARS);
        goto out;
    }
    if (status && !parse_status(status)) {
        reg_bad_request(c, "Invalid status '%.32s': use ACTIVE, INACTIVE or REVOKED",
                        status);
        goto out;
    }
    cert_info ci;
    if (cert_pem_to_der(&der, &der_len, pem, pem_len, why, sizeof why) < 0 ||
        cert_inspect(&ci, der, der_len, 0, why, sizeof why) < 0) {
        reg_reply_error(c->rp, 400, "CertificateValidationException",
                        "The certificate is not valid: %s", why);
        goto out;
    }
    cert_fingerprint(id, der, der_len);
    reg_arn(&a, c->r, "cert", id);
    reg_random_hex(gen, 16);

    pthread_mutex_lock(&c->r->mu);
    sqlite3_stmt *s = reg_stmt(c, S_CERT_INSERT);
    reg_bind_text(s, 1, id);
    reg_bind_text(s, 2, status ? status : "INACTIVE");
    sqlite3_bind_text(s, 3, pem, (int)pem_len, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, ci.not_before);
    sqlite3_bind_int64(s, 5, ci.not_after);
    sqlite3_bind_int64(s, 6, reg_now_ms());
    reg_bind_text(s, 7, gen);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc == SQLITE_CONSTRAINT)
        reg_already_exists(c, id, a.data,
                           "The certificate is already provisioned or registered");
    else if (rc != SQLITE_DONE)
        reg_db_fail(c);
    pthread_mutex_unlock(&c->r->mu);
    if (rc == SQLITE_DONE) {
        json_t *doc = json_object();
        json_object_set_new(doc, "certificateArn", json_stringn(a.data, a.len));
        json_object_set_new(doc, "certificateId", json_string(id));
        reg_reply_doc(c, doc);
    }
out:
    free(der);
    buf_free(&a);
}

static int check_cert_label(reg_ctx *c)
{
    if (!reg_is_cert_id(c->label)) {
        reg_bad_request(
            c, "Invalid certificateId '%.80s': use the 64 hex characters of the id",
            c->label);
        return -1;
    }
    return 0;
}

void reg_op_update_cert(reg_ctx *c)
{
    if (check_cert_label(c) < 0)
        return;
    int got = route_query_get(c->q->query, "newStatus", &c->tmp);
    if (got <= 0) {
        reg_bad_request(c, "newStatus is required (ACTIVE, INACTIVE or REVOKED)");
        return;
    }
    char status[16];
    snprintf(status, sizeof status, "%s", c->tmp.data);
    if (!parse_status(c->tmp.data)) {
        reg_bad_request(c, "Invalid newStatus '%.32s': use ACTIVE, INACTIVE or REVOKED",
                        c->tmp.data);
        return;
    }
    char gen[33];
    reg_random_hex(gen, 16);
    pthread_mutex_lock(&c->r->mu);
    if (reg_begin(c) < 0)
        goto out;
    sqlite3_stmt *s = reg_stmt(c, S_CERT_GET);
    reg_bind_text(s, 1, c->label);
    int rc = reg_step_row(c, s);
    if (rc < 0)
        goto out;
    if (rc == 0) {
        sqlite3_reset(s);
        reg_not_found(c, "The certificate %s does not exist", c->label);
        reg_rollback(c);
        goto out;
    }
    char cur[16];
    snprintf(cur, sizeof cur, "%s", reg_col_text(s, 1));
    sqlite3_reset(s);
    if (!strcmp(cur, status)) {
        if (reg_commit(c) == 0)
            reg_reply_empty(c);
        goto out;
    }
    if (!strcmp(cur, "REVOKED")) {
        reg_rollback(c);
        reg_reply_error(
            c->rp, 406, "CertificateStateException",
            "Certificate %s is REVOKED and cannot be changed to %s: a revoked "
            "certificate is never reactivated, register a new one",
            c->label, status);
        goto out;
    }
    s = reg_stmt(c, S_CERT_SET_STATUS);
    reg_bind_text(s, 1, c->label);
    reg_bind_text(s, 2, status);
    sqlite3_bind_int64(s, 3, reg_now_ms());
    reg_bind_text(s, 4, gen);
    if (reg_exec_done(c, s) < 0 || reg_commit(c) < 0)
        goto out;
    reg_reply_empty(c);
out:
    pthread_mutex_unlock(&c->r->mu);
}

void reg_op_describe_cert(reg_ctx *c)
{
    if (check_cert_label(c) < 0)
        return;
    json_t *d = NULL;
    pthread_mutex_lock(&c->r->mu);
    sqlite3_stmt *s = reg_stmt(c, S_CERT_GET);
    reg_bind_text(s, 1, c->label);
    int rc = reg_step_row(c, s);
    if (rc == 0)
        reg_not_found(c, "The certificate %s does not exist", c->label);
    if (rc == 1) {
        d = json_object();
        json_object_set_new(d, "certificateArn",
                            reg_arn_json(c->r, "cert", reg_col_text(s, 0)));
        json_object_set_new(d, "certificateId", json_string(reg_col_text(s, 0)));
        json_object_set_new(d, "status", json_string(reg_col_text(s, 1)));
        json_object_set_new(d, "certificatePem", json_string(reg_col_text(s, 2)));
        json_object_set_new(d, "ownedBy", json_string(c->r->account));
        json_object_set_new(d, "creationDate", reg_time_json(sqlite3_column_int64(s, 5)));
        json_object_set_new(d, "lastModifiedDate",
                            reg_time_json(sqlite3_column_int64(s, 6)));
        json_object_set_new(d, "customerVersion",
                            json_integer(sqlite3_column_int64(s, 8)));
        json_object_set_new(d, "transferData", json_object());
        json_object_set_new(d, "generationId", json_string(reg_col_text(s, 7)));
        json_t *v = json_object();
        json_object_set_new(v, "notBefore", json_integer(sqlite3_column_int64(s, 3)));
        json_object_set_new(v, "notAfter", json_integer(sqlite3_column_int64(s, 4)));
        json_object_set_new(d, "validity", v);
        json_object_set_new(d, "certificateMode", json_string("SNI_ONLY"));
    }
    sqlite3_reset(s);
    pthread_mutex_unlock(&c->r->mu);
    if (d) {
        json_t *doc = json_object();
        json_object_set_new(doc, "certificateDescription", d);
        reg_reply_doc(c, doc);
    }
}

void reg_op_list_certs(reg_ctx *c)
{
    long long size, marker;
    int asc = 0;
    if (reg_page_size(c, "pageSize", 25, 250, &size) < 0 ||
        reg_page_token(c, "marker", -1, &marker) < 0)
        return;
    int got = route_query_get(c->q->query, "isAscendingOrder", &c->tmp);
    if (got > 0)
        asc = !strcmp(c->tmp.data, "true");
    json_t *doc = json_object(), *list = json_array();
    json_object_set_new(doc, "certificates", list);
    pthread_mutex_lock(&c->r->mu);
    sqlite3_stmt *s = reg_stmt(c, asc ? S_CERT_LIST_ASC : S_CERT_LIST_DESC);
    sqlite3_bind_int64(s, 1, marker >= 0 ? marker : asc ? 0 : INT64_MAX);
    sqlite3_bind_int64(s, 2, size + 1);
    int rc, n = 0;
    long long last = 0;
    while ((rc = reg_step_row(c, s)) == 1) {
        if (n == size) {
            reg_set_token(doc, "nextMarker", last);
            break;
        }
        json_t *e = json_object();
        json_object_set_new(e, "certificateArn",
                            reg_arn_json(c->r, "cert", reg_col_text(s, 1)));
        json_object_set_new(e, "certificateId", json_string(reg_col_text(s, 1)));
        json_object_set_new(e, "status", json_string(reg_col_text(s, 2)));
        json_object_set_new(e, "certificateMode", json_string("SNI_ONLY"));
        json_object_set_new(e, "creationDate", reg_time_json(sqlite3_column_int64(s, 3)));
        json_array_append_new(list, e);
        last = sqlite3_column_int64(s, 0);
        n++;
    }
    sqlite3_reset(s);
    pthread_mutex_unlock(&c->r->mu);
    if (rc < 0)
        json_decref(doc);
    else
        reg_reply_doc(c, doc);
}

/* The certificate id named by a principal or target ARN; 404/400 reply set
 * when it is not one of this account's certificates. */
int reg_cert_of_arn(reg_ctx *c, const char *a, const char *what, buf *id)
{
    int k = reg_parse_arn(c->r, a, "cert", id);
    if (k < 0 || (k == 1 && !reg_is_cert_id(id->data))) {
        reg_bad_request(
            c, "Invalid %s '%.200s': use a certificate ARN (arn:aws:iot:%s:%s:cert/ID)",
            what, a ? a : "", c->r->region, c->r->account);
        return -1;
    }
    if (k == 0) {
        reg_not_found(c, "%s %.200s is not a certificate of account %s in %s", what, a,
                      c->r->account, c->r->region);
        return -1;
    }
    return 0;
}
