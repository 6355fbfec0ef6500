/* ops - the AWS IoT operations' request builders (internal to iot/ and its
 * tests; the operations themselves are declared in client.h).
 *
 * Design: each builder turns typed arguments into the wire form of the call
 * (iot_http_req: the operation's name, method and path template from the
 * table in iot/ops.def, the path's label URI-encoded once, query,
 * JSON body with Jansson's default separators, which are the AWS CLI's), as
 * the botocore model and the captures in testdata/iot-wire/ show. They do
 * no I/O, so tests compare them with the captures without a network. Each
 * returns 0, or -1 when a string is not UTF-8 (it cannot go into JSON); the
 * request is to be freed with iot_http_req_free either way.
 *
 * Threading: any thread; no state. The request borrows `principal` from the
 * caller (AttachThingPrincipal); everything else is copied into it. */
#ifndef TP_IOT_OPS_H
#define TP_IOT_OPS_H

#include "iot/client.h"
#include "iot/http.h"

#ifdef __cplusplus
extern "C" {
#endif

int iot_req_register_certificate(iot_http_req *r, const char *pem, const char *status);
int iot_req_update_certificate(iot_http_req *r, const char *certificate_id,
                               const char *new_status);
int iot_req_describe_certificate(iot_http_req *r, const char *certificate_id);
int iot_req_list_certificates(iot_http_req *r, const iot_page_req *page, int ascending);
int iot_req_create_thing(iot_http_req *r, const iot_create_thing_req *req);
int iot_req_describe_thing(iot_http_req *r, const char *thing_name);
int iot_req_attach_thing_principal(iot_http_req *r, const char *thing_name,
                                   const char *principal_arn);
int iot_req_list_thing_principals(iot_http_req *r, const char *thing_name,
                                  const iot_page_req *page);
int iot_req_attach_policy(iot_http_req *r, const char *policy_name,
                          const char *target_arn);
int iot_req_list_attached_policies(iot_http_req *r, const char *target_arn,
                                   const iot_page_req *page);
int iot_req_add_thing_to_thing_group(iot_http_req *r, const char *group_name,
                                     const char *thing_name);
int iot_req_list_thing_groups_for_thing(iot_http_req *r, const char *thing_name,
                                        const iot_page_req *page);
int iot_req_get_policy(iot_http_req *r, const char *policy_name);
int iot_req_describe_thing_group(iot_http_req *r, const char *group_name);
int iot_req_describe_thing_type(iot_http_req *r, const char *type_name);

#ifdef __cplusplus
}
#endif
#endif
