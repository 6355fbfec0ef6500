// The local endpoint's registry and routes without HTTP (sim/reg.h,
// sim/route.h): AWS IoT's rules, paging, persistence, concurrency.
#include <gtest/gtest.h>

#include <jansson.h>

#include <atomic>
#include <cstring>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "sim/reg.h"
#include "sim/route.h"
#include "tests/testutil.h"

namespace
{

const char kCert1Id[] =
    "471b988fe26c0dd59913cd61afbc33ffbb5c0757ebb333c3fd3ea6cf2850f0e9";
const char kArnPrefix[] = "arn:aws:iot:eu-west-1:111122223333:";

struct Reply {
    int status = 0;
    std::string error;
    json_t *doc = nullptr;
    std::string body;
    ~Reply()
    {
        json_decref(doc);
    }
    std::string str(const char *key) const
    {
        const char *s = json_string_value(json_object_get(doc, key));
        return s ? s : "";
    }
};

class Reg : public ::testing::Test
{
  protected:
    reg *r = nullptr;
    std::string pem1, pem2;

    void SetUp() override
    {
        pem1 = tu::slurp("testdata/iot-wire/test-cert.pem");
        pem2 = tu::slurp("testdata/misc/single.pem");
        ASSERT_FALSE(pem1.empty());
        ASSERT_FALSE(pem2.empty());
        open_reg("");
    }
    void TearDown() override
    {
        reg_close(r);
    }
    void open_reg(const std::string &path)
    {
        reg_close(r);
        r = nullptr;
        reg_opts o = {path.c_str(), "111122223333", "eu-west-1"};
        err e;
        err_clear(&e);
        ASSERT_EQ(0, reg_open(&r, &o, &e)) << e.msg;
    }

    // Runs op; the reply's body must always be a JSON object.
    void call(Reply &out, route_op op, const std::string &label,
              const std::string &body = "", const char *query = nullptr,
              const char *principal = nullptr)
    {
        reg_req q = {op, label.c_str(), query, principal, body.data(), body.size()};
        reg_reply rp;
        reg_reply_init(&rp);
        reg_do(r, &q, &rp);
        out.status = rp.status;
        out.error = rp.error ? rp.error : "";
        out.body.assign(rp.body.data ? rp.body.data : "", rp.body.len);
        json_decref(out.doc);
        out.doc = json_loads(out.body.c_str(), 0, nullptr);
        reg_reply_free(&rp);
        ASSERT_TRUE(out.doc && json_is_object(out.doc)) << out.body;
        if (out.status != 200) {
            ASSERT_FALSE(out.error.empty());
            ASSERT_FALSE(out.str("message").empty()) << out.body;
        } else {
            ASSERT_TRUE(out.error.empty());
        }
    }
    int status(route_op op, const std::string &label, const std::string &body = "",
               const char *query = nullptr, const char *principal = nullptr)
    {
        Reply rp;
        call(rp, op, label, body, query, principal);
        return rp.status;
    }
    std::string error(route_op op, const std::string &label, const std::string &body = "",
                      const char *query = nullptr, const char *principal = nullptr)
    {
        Reply rp;
        call(rp, op, label, body, query, principal);
        return rp.error;
    }
    static std::string register_body(const std::string &pem, const char *status = nullptr)
    {
        json_t *o = json_object();
        json_object_set_new(o, "certificatePem", json_string(pem.c_str()));
        if (status)
            json_object_set_new(o, "status", json_string(status));
        char *s = json_dumps(o, JSON_COMPACT);
        std::string out = s;
        free(s);
        json_decref(o);
        return out;
    }
    std::string register_cert(const std::string &pem, const char *status = "INACTIVE")
    {
        Reply rp;
        call(rp, ROUTE_REGISTER_CERTIFICATE_WITHOUT_CA, "", register_body(pem, status));
        EXPECT_EQ(200, rp.status) << rp.body;
        return rp.str("certificateId");
    }
    std::string cert_status(const std::string &id)
    {
        Reply rp;
        call(rp, ROUTE_DESCRIBE_CERTIFICATE, id);
        return json_string_value(
            json_object_get(json_object_get(rp.doc, "certificateDescription"), "status"));
    }
    static std::string arn(const std::string &kind, const std::string &name)
    {
        return kArnPrefix + kind + "/" + name;
    }
    // Pages through a listing with query base + size_key=size (+ token_in=the
    // last token_out); every element through name(). Counts the pages.
    std::vector<std::string> list_all(route_op op, const std::string &label,
                                      const std::string &base, const char *principal,
                                      const char *list_key, const char *size_key,
                                      int size, const char *token_in,
                                      const char *token_out, int *pages,
                                      std::string (*name)(json_t *))
    {
        std::vector<std::string> out;
        std::string token;
        *pages = 0;
        do {
            std::string q =
                base + (base.empty() ? "" : "&") + size_key + "=" + std::to_string(size) +
                (token.empty() ? "" : std::string("&") + token_in + "=" + token);
            Reply rp;
            call(rp, op, label, "", q.c_str(), principal);
            EXPECT_EQ(200, rp.status) << rp.body;
            if (rp.status != 200)
                break;
            json_t *l = json_object_get(rp.doc, list_key);
            EXPECT_TRUE(json_is_array(l)) << rp.body;
            EXPECT_LE(json_array_size(l), static_cast<size_t>(size));
            size_t i;
            json_t *e;
            json_array_foreach(l, i, e) out.push_back(name(e));
            token = rp.str(token_out);
            ++*pages;
        } while (!token.empty() && *pages < 20);
        return out;
    }
    static std::string str_of(json_t *e)
    {
        const char *s = json_string_value(e);
        return s ? s : "(not a string)";
    }
    static std::string policy_of(json_t *e)
    {
        return str_of(json_object_get(e, "policyName"));
    }
};

TEST(Route, MatchesTheAwsCliPaths)
{
    buf label = BUF_INIT;
    auto m = [&](const char *method, const char *path) {
        return route_match(method, path, strlen(path), &label);
    };
    EXPECT_EQ(ROUTE_REGISTER_CERTIFICATE_WITHOUT_CA,
              m("POST", "/certificate/register-no-ca"));
    EXPECT_EQ(ROUTE_UPDATE_CERTIFICATE, m("PUT", "/certificates/abc"));
    EXPECT_STREQ("abc", label.data);
    EXPECT_EQ(ROUTE_DESCRIBE_CERTIFICATE, m("GET", "/certificates/abc"));
    EXPECT_EQ(ROUTE_LIST_CERTIFICATES, m("GET", "/certificates"));
    EXPECT_EQ(ROUTE_DESCRIBE_THING, m("GET", "/things/plant%3A7_dev-001"));
    EXPECT_STREQ("plant:7_dev-001", label.data);
    EXPECT_EQ(ROUTE_ATTACH_THING_PRINCIPAL, m("PUT", "/things/dev-001/principals"));
    EXPECT_STREQ("dev-001", label.data);
    EXPECT_EQ(ROUTE_LIST_THING_GROUPS_FOR_THING,
              m("GET", "/things/dev-001/thing-groups"));
    // the literal wins over the label
    EXPECT_EQ(ROUTE_ADD_THING_TO_THING_GROUP,
              m("PUT", "/thing-groups/addThingToThingGroup"));
    EXPECT_EQ(ROUTE_DESCRIBE_THING_GROUP, m("GET", "/thing-groups/addThingToThingGroup"));
    // an encoded '/' stays inside the label
    EXPECT_EQ(
        ROUTE_LIST_ATTACHED_POLICIES,
        m("POST", "/attached-policies/arn%3Aaws%3Aiot%3Aus-east-1%3A1%3Acert%2Fab"));
    EXPECT_STREQ("arn:aws:iot:us-east-1:1:cert/ab", label.data);
    // issue 14: the read operations people check results with
    EXPECT_EQ(ROUTE_LIST_THINGS_IN_THING_GROUP,
              m("GET", "/thing-groups/fleet%3Aa/things"));
    EXPECT_STREQ("fleet:a", label.data);
    EXPECT_EQ(ROUTE_LIST_PRINCIPAL_THINGS, m("GET", "/principals/things"));
    EXPECT_EQ(0u, label.len);
    EXPECT_STREQ("ListThingsInThingGroup", route_name(ROUTE_LIST_THINGS_IN_THING_GROUP));
    EXPECT_STREQ("ListPrincipalThings", route_name(ROUTE_LIST_PRINCIPAL_THINGS));
    EXPECT_EQ(ROUTE_NONE, m("DELETE", "/things/dev-001"));
    EXPECT_EQ(ROUTE_NONE, m("GET", "/things/a/b"));
    EXPECT_EQ(ROUTE_NONE, m("GET", "/things/"));
    EXPECT_EQ(ROUTE_NONE, m("GET", "/things/bad%zz"));
    EXPECT_EQ(ROUTE_NONE, m("GET", "/things/nul%00"));
    EXPECT_EQ(ROUTE_NONE, m("GET", "/things/x%4"));
    EXPECT_EQ(ROUTE_NONE, m("GET", "/"));
    EXPECT_EQ(ROUTE_NONE, m("GET", ""));
    EXPECT_EQ(ROUTE_CREATE_THING, route_by_name("CreateThing"));
    EXPECT_STREQ("AttachPolicy", route_name(ROUTE_ATTACH_POLICY));
    EXPECT_STREQ("Unknown", route_name(ROUTE_NONE));
    buf_free(&label);
}

TEST(Route, QueryValues)
{
    buf v = BUF_INIT;
    const char *q = "pageSize=25&marker=a%2Fb&flag&isAscendingOrder=true&bad=%g1";
    EXPECT_EQ(1, route_query_get(q, "pageSize", &v));
    EXPECT_STREQ("25", v.data);
    EXPECT_EQ(1, route_query_get(q, "marker", &v));
    EXPECT_STREQ("a/b", v.data);
    EXPECT_EQ(1, route_query_get(q, "flag", &v));
    EXPECT_EQ(0u, v.len);
    EXPECT_EQ(0, route_query_get(q, "page", &v));
    EXPECT_EQ(-1, route_query_get(q, "bad", &v));
    EXPECT_EQ(0, route_query_get(nullptr, "x", &v));
    buf_free(&v);
}

TEST_F(Reg, RegisterCertificate)
{
    Reply rp;
    call(rp, ROUTE_REGISTER_CERTIFICATE_WITHOUT_CA, "", register_body(pem1, "INACTIVE"));
    ASSERT_EQ(200, rp.status) << rp.body;
    EXPECT_EQ(kCert1Id, rp.str("certificateId"));
    EXPECT_EQ(arn("cert", kCert1Id), rp.str("certificateArn"));
    EXPECT_EQ("INACTIVE", cert_status(kCert1Id));

    // the same DER again, whatever the status: 409 naming the existing one
    call(rp, ROUTE_REGISTER_CERTIFICATE_WITHOUT_CA, "", register_body(pem1, "ACTIVE"));
    EXPECT_EQ(409, rp.status);
    EXPECT_EQ("ResourceAlreadyExistsException", rp.error);
    EXPECT_EQ(kCert1Id, rp.str("resourceId"));
    EXPECT_EQ(arn("cert", kCert1Id), rp.str("resourceArn"));

    // the same certificate with CRLF line ends and no trailing newline: same DER
    std::string crlf;
    for (char c : pem1)
        crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
    EXPECT_EQ(409,
              status(ROUTE_REGISTER_CERTIFICATE_WITHOUT_CA, "", register_body(crlf)));

    // default status
    std::string id2 = register_cert(pem2, nullptr);
    EXPECT_EQ("INACTIVE", cert_status(id2));
}

TEST_F(Reg, RegisterRejects)
{
    auto reg_err = [&](const std::string &body) {
        return error(ROUTE_REGISTER_CERTIFICATE_WITHOUT_CA, "", body);
    };
    EXPECT_EQ("CertificateValidationException", reg_err(register_body("garbage")));
    std::string truncated = pem1.substr(0, 200) + "\n-----END CERTIFICATE-----\n";
    EXPECT_EQ("CertificateValidationException", reg_err(register_body(truncated)));
    EXPECT_EQ("InvalidRequestException",
              reg_err(register_body(pem1, "PENDING_TRANSFER")));
    EXPECT_EQ("InvalidRequestException", reg_err("{}"));
    EXPECT_EQ("InvalidRequestException", reg_err("{\"certificatePem\": 5}"));
    EXPECT_EQ("InvalidRequestException", reg_err(register_body(std::string(65537, 'A'))));
    EXPECT_EQ("SerializationException", reg_err("{not json"));
    EXPECT_EQ("SerializationException", reg_err("[1]"));
    Reply rp;
    call(rp, ROUTE_LIST_CERTIFICATES, "");
    EXPECT_EQ(0u, json_array_size(json_object_get(rp.doc, "certificates")));
}

TEST_F(Reg, CertificateStatusRules)
{
    std::string id = register_cert(pem1);
    EXPECT_EQ(200, status(ROUTE_UPDATE_CERTIFICATE, id, "", "newStatus=ACTIVE"));
    EXPECT_EQ("ACTIVE", cert_status(id));
    EXPECT_EQ(200, status(ROUTE_UPDATE_CERTIFICATE, id, "", "newStatus=ACTIVE"));
    EXPECT_EQ(200, status(ROUTE_UPDATE_CERTIFICATE, id, "", "newStatus=INACTIVE"));
    EXPECT_EQ(200, status(ROUTE_UPDATE_CERTIFICATE, id, "", "newStatus=REVOKED"));
    Reply rp;
    for (const char *to : {"newStatus=ACTIVE", "newStatus=INACTIVE"}) {
        call(rp, ROUTE_UPDATE_CERTIFICATE, id, "", to);
        EXPECT_EQ(406, rp.status) << to;
        EXPECT_EQ("CertificateStateException", rp.error);
    }
    EXPECT_EQ(200, status(ROUTE_UPDATE_CERTIFICATE, id, "", "newStatus=REVOKED"));
    EXPECT_EQ("REVOKED", cert_status(id));

    EXPECT_EQ(400, status(ROUTE_UPDATE_CERTIFICATE, id, "", nullptr));
    EXPECT_EQ(400, status(ROUTE_UPDATE_CERTIFICATE, id, "", "newStatus=active"));
    std::string zeros(64, '0');
    EXPECT_EQ(404, status(ROUTE_UPDATE_CERTIFICATE, zeros, "", "newStatus=ACTIVE"));
    EXPECT_EQ(404, status(ROUTE_DESCRIBE_CERTIFICATE, zeros));
    EXPECT_EQ(400, status(ROUTE_DESCRIBE_CERTIFICATE, "abc"));

    // the description's fields
    call(rp, ROUTE_DESCRIBE_CERTIFICATE, id);
    json_t *d = json_object_get(rp.doc, "certificateDescription");
    EXPECT_EQ(pem1, json_string_value(json_object_get(d, "certificatePem")));
    EXPECT_STREQ("111122223333", json_string_value(json_object_get(d, "ownedBy")));
    EXPECT_TRUE(json_is_number(json_object_get(d, "creationDate")));
    EXPECT_EQ(4, json_integer_value(json_object_get(d, "customerVersion")));
    EXPECT_TRUE(
        json_is_integer(json_object_get(json_object_get(d, "validity"), "notAfter")));
}

TEST_F(Reg, ListCertificatesPages)
{
    std::string a = register_cert(pem1), b = register_cert(pem2);
    Reply rp;
    call(rp, ROUTE_LIST_CERTIFICATES, "", "", "pageSize=1");
    json_t *l = json_object_get(rp.doc, "certificates");
    ASSERT_EQ(1u, json_array_size(l));
    EXPECT_EQ(b,
              json_string_value(json_object_get(json_array_get(l, 0), "certificateId")));
    std::string q = "pageSize=1&marker=" + rp.str("nextMarker");
    call(rp, ROUTE_LIST_CERTIFICATES, "", "", q.c_str());
    l = json_object_get(rp.doc, "certificates");
    ASSERT_EQ(1u, json_array_size(l));
    EXPECT_EQ(a,
              json_string_value(json_object_get(json_array_get(l, 0), "certificateId")));
    EXPECT_EQ(nullptr, json_object_get(rp.doc, "nextMarker"));
    call(rp, ROUTE_LIST_CERTIFICATES, "", "", "isAscendingOrder=true");
    l = json_object_get(rp.doc, "certificates");
    EXPECT_EQ(a,
              json_string_value(json_object_get(json_array_get(l, 0), "certificateId")));
    EXPECT_EQ(400, status(ROUTE_LIST_CERTIFICATES, "", "", "pageSize=0"));
    EXPECT_EQ(400, status(ROUTE_LIST_CERTIFICATES, "", "", "pageSize=251"));
    EXPECT_EQ(400, status(ROUTE_LIST_CERTIFICATES, "", "", "pageSize=x"));
    EXPECT_EQ(400, status(ROUTE_LIST_CERTIFICATES, "", "", "marker=abc"));
}

TEST_F(Reg, CreateThingRules)
{
    ASSERT_EQ(200, status(ROUTE_CREATE_THING_TYPE, "sensor-v1"));
    const std::string four =
        R"({"thingTypeName":"sensor-v1","attributePayload":{"attributes":{"serial":"SN-1","model":"m1","fw":"1.0","site":"p7"},"merge":false}})";
    Reply rp;
    call(rp, ROUTE_CREATE_THING, "dev-001", four);
    ASSERT_EQ(200, rp.status) << rp.body;
    std::string id = rp.str("thingId");
    EXPECT_EQ(36u, id.size());
    EXPECT_EQ(arn("thing", "dev-001"), rp.str("thingArn"));
    // same configuration (attributes in another order): the existing thing
    call(
        rp, ROUTE_CREATE_THING, "dev-001",
        R"({"thingTypeName":"sensor-v1","attributePayload":{"attributes":{"site":"p7","fw":"1.0","model":"m1","serial":"SN-1"}}})");
    EXPECT_EQ(200, rp.status);
    EXPECT_EQ(id, rp.str("thingId"));
    // another configuration: 409 naming it
    call(rp, ROUTE_CREATE_THING, "dev-001", R"({"thingTypeName":"sensor-v1"})");
    EXPECT_EQ(409, rp.status);
    EXPECT_EQ("ResourceAlreadyExistsException", rp.error);
    EXPECT_EQ(id, rp.str("resourceId"));
    EXPECT_EQ(arn("thing", "dev-001"), rp.str("resourceArn"));
    EXPECT_EQ(409, status(ROUTE_CREATE_THING, "dev-001"));

    // limits: 3 without a type, 50 with one
    const std::string three =
        R"({"attributePayload":{"attributes":{"a":"1","b":"2","c":"3"}}})";
    EXPECT_EQ(200, status(ROUTE_CREATE_THING, "dev-002", three));
    const std::string four_untyped =
        R"({"attributePayload":{"attributes":{"a":"1","b":"2","c":"3","d":"4"}}})";
    EXPECT_EQ("InvalidRequestException",
              error(ROUTE_CREATE_THING, "dev-003", four_untyped));
    auto many = [](int n) {
        std::string s =
            R"({"thingTypeName":"sensor-v1","attributePayload":{"attributes":{)";
        for (int i = 0; i < n; i++)
            s += (i ? "," : "") + std::string("\"a") + std::to_string(i) + "\":\"v\"";
        return s + "}}}";
    };
    EXPECT_EQ(200, status(ROUTE_CREATE_THING, "dev-004", many(50)));
    EXPECT_EQ(400, status(ROUTE_CREATE_THING, "dev-005", many(51)));

    // names and values
    EXPECT_EQ(400, status(ROUTE_CREATE_THING, "bad name"));
    EXPECT_EQ(400, status(ROUTE_CREATE_THING, std::string(129, 'a')));
    EXPECT_EQ(200, status(ROUTE_CREATE_THING, std::string(128, 'a')));
    EXPECT_EQ(200, status(ROUTE_CREATE_THING, "plant:7_dev-001"));
    EXPECT_EQ(400, status(ROUTE_CREATE_THING, "x1",
                          R"({"attributePayload":{"attributes":{"bad name":"v"}}})"));
    EXPECT_EQ(400, status(ROUTE_CREATE_THING, "x1",
                          R"({"attributePayload":{"attributes":{"k":"bad value"}}})"));
    EXPECT_EQ(400, status(ROUTE_CREATE_THING, "x1",
                          R"({"attributePayload":{"attributes":{"k":5}}})"));
    EXPECT_EQ(400, status(ROUTE_CREATE_THING, "x1",
                          R"({"attributePayload":{"attributes":[]}})"));
    EXPECT_EQ(400, status(ROUTE_CREATE_THING, "x1", R"({"thingTypeName":7})"));
    EXPECT_EQ(200,
              status(ROUTE_CREATE_THING, "x1",
                     R"({"attributePayload":{"attributes":{"k":"a=[b]/c#d@e,f.g:h"}}})"));
    EXPECT_EQ(404, status(ROUTE_CREATE_THING, "x2", R"({"thingTypeName":"nope"})"));
    EXPECT_EQ(404, status(ROUTE_CREATE_THING, "x2", R"({"billingGroupName":"bg"})"));

    call(rp, ROUTE_DESCRIBE_THING, "dev-001");
    ASSERT_EQ(200, rp.status);
    EXPECT_EQ(id, rp.str("thingId"));
    EXPECT_EQ("sensor-v1", rp.str("thingTypeName"));
    EXPECT_EQ("dev-001", rp.str("defaultClientId"));
    EXPECT_EQ(4u, json_object_size(json_object_get(rp.doc, "attributes")));
    EXPECT_EQ(1, json_integer_value(json_object_get(rp.doc, "version")));
    call(rp, ROUTE_DESCRIBE_THING, "dev-002");
    EXPECT_EQ(nullptr, json_object_get(rp.doc, "thingTypeName"));
    EXPECT_EQ(404, status(ROUTE_DESCRIBE_THING, "nope"));
}

TEST_F(Reg, ListThingsFiltersAndPages)
{
    ASSERT_EQ(200, status(ROUTE_CREATE_THING_TYPE, "t"));
    for (int i = 0; i < 7; i++) {
        std::string body = std::string(R"({)") +
                           (i % 2 ? R"("thingTypeName":"t",)" : "") +
                           R"("attributePayload":{"attributes":{"serial":"SN-)" +
                           std::to_string(i) + R"("}}})";
        ASSERT_EQ(200, status(ROUTE_CREATE_THING, "d" + std::to_string(i), body));
    }
    std::vector<std::string> names;
    std::string token;
    int pages = 0;
    do {
        std::string q = "maxResults=3" + (token.empty() ? "" : "&nextToken=" + token);
        Reply rp;
        call(rp, ROUTE_LIST_THINGS, "", "", q.c_str());
        ASSERT_EQ(200, rp.status);
        size_t i;
        json_t *t;
        json_array_foreach(json_object_get(rp.doc, "things"), i, t)
            names.push_back(json_string_value(json_object_get(t, "thingName")));
        token = rp.str("nextToken");
        pages++;
    } while (!token.empty() && pages < 10);
    EXPECT_EQ(3, pages);
    EXPECT_EQ((std::vector<std::string>{"d0", "d1", "d2", "d3", "d4", "d5", "d6"}),
              names);

    Reply rp;
    call(rp, ROUTE_LIST_THINGS, "", "", "thingTypeName=t");
    EXPECT_EQ(3u, json_array_size(json_object_get(rp.doc, "things")));
    call(rp, ROUTE_LIST_THINGS, "", "", "attributeName=serial&attributeValue=SN-4");
    ASSERT_EQ(1u, json_array_size(json_object_get(rp.doc, "things")));
    call(rp, ROUTE_LIST_THINGS, "", "",
         "attributeName=serial&attributeValue=SN-&usePrefixAttributeValue=true");
    EXPECT_EQ(7u, json_array_size(json_object_get(rp.doc, "things")));
    EXPECT_EQ(400, status(ROUTE_LIST_THINGS, "", "", "attributeName=serial"));
    EXPECT_EQ(400, status(ROUTE_LIST_THINGS, "", "", "nextToken=-1"));
}

TEST_F(Reg, Attachments)
{
    std::string id = register_cert(pem1);
    std::string cert_arn = arn("cert", id);
    ASSERT_EQ(200, status(ROUTE_CREATE_THING, "dev-001"));
    EXPECT_EQ(200, status(ROUTE_ATTACH_THING_PRINCIPAL, "dev-001", "", nullptr,
                          cert_arn.c_str()));
    EXPECT_EQ(200, status(ROUTE_ATTACH_THING_PRINCIPAL, "dev-001", "", nullptr,
                          cert_arn.c_str()));
    std::string other = arn("cert", std::string(64, 'a'));
    EXPECT_EQ(
        404, status(ROUTE_ATTACH_THING_PRINCIPAL, "dev-001", "", nullptr, other.c_str()));
    EXPECT_EQ(
        404, status(ROUTE_ATTACH_THING_PRINCIPAL, "nope", "", nullptr, cert_arn.c_str()));
    EXPECT_EQ(400, status(ROUTE_ATTACH_THING_PRINCIPAL, "dev-001", "", nullptr, nullptr));
    EXPECT_EQ(400,
              status(ROUTE_ATTACH_THING_PRINCIPAL, "dev-001", "", nullptr, "cert/x"));
    std::string foreign = "arn:aws:iot:us-east-1:999999999999:cert/" + id;
    EXPECT_EQ(404, status(ROUTE_ATTACH_THING_PRINCIPAL, "dev-001", "", nullptr,
                          foreign.c_str()));
    EXPECT_EQ(400, status(ROUTE_ATTACH_THING_PRINCIPAL, "dev-001", "",
                          "thingPrincipalType=X", cert_arn.c_str()));
    Reply rp;
    call(rp, ROUTE_LIST_THING_PRINCIPALS, "dev-001");
    ASSERT_EQ(1u, json_array_size(json_object_get(rp.doc, "principals")));
    EXPECT_EQ(cert_arn, json_string_value(
                            json_array_get(json_object_get(rp.doc, "principals"), 0)));

    // policies: 10 per certificate, then 410; re-attaching one is still fine
    const std::string target = R"({"target":")" + cert_arn + R"("})";
    EXPECT_EQ(404, status(ROUTE_ATTACH_POLICY, "p0", target));
    for (int i = 0; i <= 10; i++)
        ASSERT_EQ(200, status(ROUTE_CREATE_POLICY, "p" + std::to_string(i),
                              R"({"policyDocument":"{\"Version\":\"2012-10-17\"}"})"));
    for (int i = 0; i < 10; i++)
        ASSERT_EQ(200, status(ROUTE_ATTACH_POLICY, "p" + std::to_string(i), target));
    call(rp, ROUTE_ATTACH_POLICY, "p10", target);
    EXPECT_EQ(410, rp.status);
    EXPECT_EQ("LimitExceededException", rp.error);
    EXPECT_EQ(200, status(ROUTE_ATTACH_POLICY, "p3", target));
    EXPECT_EQ(400, status(ROUTE_ATTACH_POLICY, "p3", "{}"));
    EXPECT_EQ(404, status(ROUTE_ATTACH_POLICY, "p3", R"({"target":")" + other + R"("})"));
    call(rp, ROUTE_LIST_ATTACHED_POLICIES, cert_arn, "", "pageSize=250");
    json_t *l = json_object_get(rp.doc, "policies");
    ASSERT_EQ(10u, json_array_size(l));
    EXPECT_STREQ("p0",
                 json_string_value(json_object_get(json_array_get(l, 0), "policyName")));
    EXPECT_EQ(arn("policy", "p0"),
              json_string_value(json_object_get(json_array_get(l, 0), "policyArn")));
    EXPECT_EQ(404, status(ROUTE_LIST_ATTACHED_POLICIES, other));

    // a thing group target
    ASSERT_EQ(200, status(ROUTE_CREATE_THING_GROUP, "g"));
    EXPECT_EQ(200, status(ROUTE_ATTACH_POLICY, "p10",
                          R"({"target":")" + arn("thinggroup", "g") + R"("})"));
    call(rp, ROUTE_LIST_ATTACHED_POLICIES, arn("thinggroup", "g"));
    EXPECT_EQ(1u, json_array_size(json_object_get(rp.doc, "policies")));

    // groups: by name or ARN, idempotent, at most 10 per thing
    EXPECT_EQ(200, status(ROUTE_ADD_THING_TO_THING_GROUP, "",
                          R"({"thingGroupName":"g","thingName":"dev-001"})"));
    EXPECT_EQ(200, status(ROUTE_ADD_THING_TO_THING_GROUP, "",
                          R"({"thingGroupArn":")" + arn("thinggroup", "g") +
                              R"(","thingArn":")" + arn("thing", "dev-001") + R"("})"));
    EXPECT_EQ(400,
              status(ROUTE_ADD_THING_TO_THING_GROUP, "", R"({"thingName":"dev-001"})"));
    EXPECT_EQ(404, status(ROUTE_ADD_THING_TO_THING_GROUP, "",
                          R"({"thingGroupName":"nope","thingName":"dev-001"})"));
    EXPECT_EQ(404, status(ROUTE_ADD_THING_TO_THING_GROUP, "",
                          R"({"thingGroupName":"g","thingName":"nope"})"));
    for (int i = 1; i < 10; i++) {
        std::string g = "g" + std::to_string(i);
        ASSERT_EQ(200, status(ROUTE_CREATE_THING_GROUP, g));
        ASSERT_EQ(200,
                  status(ROUTE_ADD_THING_TO_THING_GROUP, "",
                         R"({"thingGroupName":")" + g + R"(","thingName":"dev-001"})"));
    }
    ASSERT_EQ(200, status(ROUTE_CREATE_THING_GROUP, "g10"));
    EXPECT_EQ(400, status(ROUTE_ADD_THING_TO_THING_GROUP, "",
                          R"({"thingGroupName":"g10","thingName":"dev-001"})"));
    call(rp, ROUTE_LIST_THING_GROUPS_FOR_THING, "dev-001", "", "maxResults=4");
    EXPECT_EQ(4u, json_array_size(json_object_get(rp.doc, "thingGroups")));
    EXPECT_FALSE(rp.str("nextToken").empty());
    EXPECT_EQ(404, status(ROUTE_LIST_THING_GROUPS_FOR_THING, "nope"));
}

// Issue 14: the read operations people use with the AWS CLI to check what a
// job did, with AWS's paging parameters and 404s.
TEST_F(Reg, ReadOperationsPage)
{
    const std::vector<std::string> five = {"t1", "t2", "t3", "t4", "t5"};
    ASSERT_EQ(200, status(ROUTE_CREATE_THING_GROUP, "fleet"));
    ASSERT_EQ(200, status(ROUTE_CREATE_THING_GROUP, "fleet-sub",
                          R"({"parentGroupName":"fleet"})"));
    ASSERT_EQ(200, status(ROUTE_CREATE_THING_GROUP, "other"));
    for (auto &t : five) {
        ASSERT_EQ(200, status(ROUTE_CREATE_THING, t));
        ASSERT_EQ(200,
                  status(ROUTE_ADD_THING_TO_THING_GROUP, "",
                         R"({"thingGroupName":"fleet","thingName":")" + t + R"("})"));
    }
    ASSERT_EQ(200, status(ROUTE_CREATE_THING, "t6"));
    for (const char *t : {"t6", "t1"})
        ASSERT_EQ(200,
                  status(ROUTE_ADD_THING_TO_THING_GROUP, "",
                         std::string(R"({"thingGroupName":"fleet-sub","thingName":")") +
                             t + R"("})"));
    ASSERT_EQ(200, status(ROUTE_ADD_THING_TO_THING_GROUP, "",
                          R"({"thingGroupName":"other","thingName":"t6"})"));

    // ListThingsInThingGroup: maxResults/nextToken, 2 a page over 5 things
    int pages = 0;
    EXPECT_EQ(five,
              list_all(ROUTE_LIST_THINGS_IN_THING_GROUP, "fleet", "", nullptr, "things",
                       "maxResults", 2, "nextToken", "nextToken", &pages, str_of));
    EXPECT_EQ(3, pages);
    // recursive: the child group's things too, each once
    std::vector<std::string> tree = five;
    tree.push_back("t6");
    EXPECT_EQ(tree, list_all(ROUTE_LIST_THINGS_IN_THING_GROUP, "fleet", "recursive=true",
                             nullptr, "things", "maxResults", 4, "nextToken", "nextToken",
                             &pages, str_of));
    EXPECT_EQ(2, pages);
    EXPECT_EQ(five, list_all(ROUTE_LIST_THINGS_IN_THING_GROUP, "fleet", "recursive=false",
                             nullptr, "things", "maxResults", 250, "nextToken",
                             "nextToken", &pages, str_of));
    EXPECT_EQ((std::vector<std::string>{"t6", "t1"}),
              list_all(ROUTE_LIST_THINGS_IN_THING_GROUP, "fleet-sub", "", nullptr,
                       "things", "maxResults", 25, "nextToken", "nextToken", &pages,
                       str_of));
    Reply rp;
    call(rp, ROUTE_LIST_THINGS_IN_THING_GROUP, "nope");
    EXPECT_EQ(404, rp.status);
    EXPECT_EQ("ResourceNotFoundException", rp.error);
    EXPECT_EQ(400, status(ROUTE_LIST_THINGS_IN_THING_GROUP, "bad name"));
    EXPECT_EQ(400,
              status(ROUTE_LIST_THINGS_IN_THING_GROUP, "fleet", "", "recursive=yes"));
    EXPECT_EQ(400,
              status(ROUTE_LIST_THINGS_IN_THING_GROUP, "fleet", "", "maxResults=251"));
    EXPECT_EQ(400, status(ROUTE_LIST_THINGS_IN_THING_GROUP, "fleet", "", "nextToken=x"));

    // ListPrincipalThings: the x-amzn-principal header, maxResults/nextToken
    std::string id = register_cert(pem1);
    std::string cert_arn = arn("cert", id);
    for (auto &t : five)
        ASSERT_EQ(200,
                  status(ROUTE_ATTACH_THING_PRINCIPAL, t, "", nullptr, cert_arn.c_str()));
    EXPECT_EQ(five,
              list_all(ROUTE_LIST_PRINCIPAL_THINGS, "", "", cert_arn.c_str(), "things",
                       "maxResults", 2, "nextToken", "nextToken", &pages, str_of));
    EXPECT_EQ(3, pages);
    std::string other = register_cert(pem2);
    call(rp, ROUTE_LIST_PRINCIPAL_THINGS, "", "", nullptr, arn("cert", other).c_str());
    EXPECT_EQ(200, rp.status);
    EXPECT_EQ(0u, json_array_size(json_object_get(rp.doc, "things")));
    EXPECT_EQ(nullptr, json_object_get(rp.doc, "nextToken"));
    std::string absent = arn("cert", std::string(64, 'a'));
    call(rp, ROUTE_LIST_PRINCIPAL_THINGS, "", "", nullptr, absent.c_str());
    EXPECT_EQ(404, rp.status);
    EXPECT_EQ("ResourceNotFoundException", rp.error);
    std::string foreign = "arn:aws:iot:us-east-1:999999999999:cert/" + id;
    EXPECT_EQ(404, status(ROUTE_LIST_PRINCIPAL_THINGS, "", "", nullptr, foreign.c_str()));
    EXPECT_EQ(400, status(ROUTE_LIST_PRINCIPAL_THINGS, "", "", nullptr, nullptr));
    EXPECT_EQ(400, status(ROUTE_LIST_PRINCIPAL_THINGS, "", "", nullptr, "not-an-arn"));

    // ListThingPrincipals: maxResults/nextToken; both certificates, one a page
    ASSERT_EQ(200, status(ROUTE_ATTACH_THING_PRINCIPAL, "t1", "", nullptr,
                          arn("cert", other).c_str()));
    EXPECT_EQ((std::vector<std::string>{cert_arn, arn("cert", other)}),
              list_all(ROUTE_LIST_THING_PRINCIPALS, "t1", "", nullptr, "principals",
                       "maxResults", 1, "nextToken", "nextToken", &pages, str_of));
    EXPECT_EQ(2, pages);

    // ListAttachedPolicies: pageSize/marker -> nextMarker; recursive adds the
    // policies of the parent groups, each once
    for (const char *p : {"pa", "pb", "pc"})
        ASSERT_EQ(200, status(ROUTE_CREATE_POLICY, p,
                              R"({"policyDocument":"{\"Version\":\"2012-10-17\"}"})"));
    auto attach = [&](const char *p, const std::string &target) {
        return status(ROUTE_ATTACH_POLICY, p, R"({"target":")" + target + R"("})");
    };
    ASSERT_EQ(200, attach("pa", arn("thinggroup", "fleet")));
    ASSERT_EQ(200, attach("pb", arn("thinggroup", "fleet-sub")));
    ASSERT_EQ(200, attach("pa", arn("thinggroup", "fleet-sub")));
    ASSERT_EQ(200, attach("pc", arn("thinggroup", "fleet")));
    EXPECT_EQ((std::vector<std::string>{"pb", "pa"}),
              list_all(ROUTE_LIST_ATTACHED_POLICIES, arn("thinggroup", "fleet-sub"), "",
                       nullptr, "policies", "pageSize", 1, "marker", "nextMarker", &pages,
                       policy_of));
    EXPECT_EQ(2, pages);
    EXPECT_EQ((std::vector<std::string>{"pa", "pb", "pc"}),
              list_all(ROUTE_LIST_ATTACHED_POLICIES, arn("thinggroup", "fleet-sub"),
                       "recursive=true", nullptr, "policies", "pageSize", 2, "marker",
                       "nextMarker", &pages, policy_of));
    EXPECT_EQ(2, pages);
    ASSERT_EQ(200, attach("pc", cert_arn));
    EXPECT_EQ((std::vector<std::string>{"pc"}),
              list_all(ROUTE_LIST_ATTACHED_POLICIES, cert_arn, "recursive=true", nullptr,
                       "policies", "pageSize", 25, "marker", "nextMarker", &pages,
                       policy_of));
    EXPECT_EQ(404, status(ROUTE_LIST_ATTACHED_POLICIES, arn("thinggroup", "nope")));
    EXPECT_EQ(400, status(ROUTE_LIST_ATTACHED_POLICIES, cert_arn, "", "recursive=1"));
}

TEST_F(Reg, PoliciesGroupsTypes)
{
    Reply rp;
    call(rp, ROUTE_CREATE_POLICY, "pol",
         R"({"policyDocument":"{\"Version\":\"2012-10-17\"}"})");
    ASSERT_EQ(200, rp.status) << rp.body;
    EXPECT_EQ(arn("policy", "pol"), rp.str("policyArn"));
    EXPECT_EQ("1", rp.str("policyVersionId"));
    call(rp, ROUTE_CREATE_POLICY, "pol", R"({"policyDocument":"{}"})");
    EXPECT_EQ(409, rp.status);
    EXPECT_EQ(arn("policy", "pol"), rp.str("resourceArn"));
    EXPECT_EQ("MalformedPolicyException",
              error(ROUTE_CREATE_POLICY, "bad", R"({"policyDocument":"[1]"})"));
    EXPECT_EQ("MalformedPolicyException",
              error(ROUTE_CREATE_POLICY, "bad", R"({"policyDocument":"{"})"));
    std::string big =
        R"({"policyDocument":"{\"a\":\")" + std::string(2100, 'x') + R"(\"}"})";
    EXPECT_EQ("MalformedPolicyException", error(ROUTE_CREATE_POLICY, "bad", big));
    EXPECT_EQ(400, status(ROUTE_CREATE_POLICY, "bad name", R"({"policyDocument":"{}"})"));
    EXPECT_EQ(400, status(ROUTE_CREATE_POLICY, "nodoc"));
    call(rp, ROUTE_GET_POLICY, "pol");
    EXPECT_EQ("{\"Version\":\"2012-10-17\"}", rp.str("policyDocument"));
    EXPECT_EQ("1", rp.str("defaultVersionId"));
    EXPECT_FALSE(rp.str("generationId").empty());
    EXPECT_EQ(404, status(ROUTE_GET_POLICY, "nope"));

    const std::string props =
        R"({"thingGroupProperties":{"thingGroupDescription":"d","attributePayload":{"attributes":{"k":"v"}}}})";
    call(rp, ROUTE_CREATE_THING_GROUP, "root", props);
    ASSERT_EQ(200, rp.status) << rp.body;
    std::string gid = rp.str("thingGroupId");
    call(rp, ROUTE_CREATE_THING_GROUP, "root", props);
    EXPECT_EQ(gid, rp.str("thingGroupId"));
    EXPECT_EQ(409, status(ROUTE_CREATE_THING_GROUP, "root"));
    EXPECT_EQ(200,
              status(ROUTE_CREATE_THING_GROUP, "mid", R"({"parentGroupName":"root"})"));
    EXPECT_EQ(200,
              status(ROUTE_CREATE_THING_GROUP, "leaf", R"({"parentGroupName":"mid"})"));
    EXPECT_EQ(
        400, status(ROUTE_CREATE_THING_GROUP, "orphan", R"({"parentGroupName":"nope"})"));
    EXPECT_EQ(400, status(ROUTE_CREATE_THING_GROUP, "bad name"));
    call(rp, ROUTE_DESCRIBE_THING_GROUP, "leaf");
    json_t *chain = json_object_get(json_object_get(rp.doc, "thingGroupMetadata"),
                                    "rootToParentThingGroups");
    ASSERT_EQ(2u, json_array_size(chain));
    EXPECT_STREQ("root", json_string_value(
                             json_object_get(json_array_get(chain, 0), "groupName")));
    EXPECT_STREQ(
        "mid", json_string_value(json_object_get(json_array_get(chain, 1), "groupName")));
    call(rp, ROUTE_DESCRIBE_THING_GROUP, "root");
    EXPECT_EQ(gid, rp.str("thingGroupId"));
    json_t *p = json_object_get(rp.doc, "thingGroupProperties");
    EXPECT_STREQ("d", json_string_value(json_object_get(p, "thingGroupDescription")));
    EXPECT_EQ(404, status(ROUTE_DESCRIBE_THING_GROUP, "nope"));

    const std::string tprops =
        R"({"thingTypeProperties":{"thingTypeDescription":"x","searchableAttributes":["serial"]}})";
    call(rp, ROUTE_CREATE_THING_TYPE, "ty", tprops);
    ASSERT_EQ(200, rp.status) << rp.body;
    std::string tid = rp.str("thingTypeId");
    EXPECT_EQ(arn("thingtype", "ty"), rp.str("thingTypeArn"));
    call(rp, ROUTE_CREATE_THING_TYPE, "ty", tprops);
    EXPECT_EQ(tid, rp.str("thingTypeId"));
    EXPECT_EQ(409, status(ROUTE_CREATE_THING_TYPE, "ty"));
    EXPECT_EQ(
        400,
        status(ROUTE_CREATE_THING_TYPE, "t2",
               R"({"thingTypeProperties":{"searchableAttributes":["a","b","c","d"]}})"));
    call(rp, ROUTE_DESCRIBE_THING_TYPE, "ty");
    EXPECT_EQ(tid, rp.str("thingTypeId"));
    EXPECT_TRUE(json_is_false(
        json_object_get(json_object_get(rp.doc, "thingTypeMetadata"), "deprecated")));
    EXPECT_EQ(404, status(ROUTE_DESCRIBE_THING_TYPE, "nope"));
    EXPECT_EQ("UnknownOperationException", error(ROUTE_NONE, ""));
}

TEST_F(Reg, StateSurvivesReopenAndIsExclusive)
{
    std::string path = tu::temp_file("reg_state.db", "");
    unlink(path.c_str());
    open_reg(path);
    std::string id = register_cert(pem1);
    ASSERT_EQ(200, status(ROUTE_UPDATE_CERTIFICATE, id, "", "newStatus=REVOKED"));
    ASSERT_EQ(200, status(ROUTE_CREATE_THING, "dev-001"));

    // a second registry on the same file is refused while this one is open
    reg *other = nullptr;
    reg_opts o = {path.c_str(), "111122223333", "eu-west-1"};
    err e;
    err_clear(&e);
    EXPECT_EQ(-1, reg_open(&other, &o, &e));
    EXPECT_EQ(nullptr, other);
    EXPECT_NE(nullptr, strstr(e.msg, "in use by another process")) << e.msg;

    open_reg(path); // closes, then reopens
    EXPECT_EQ("REVOKED", cert_status(id));
    EXPECT_EQ(406, status(ROUTE_UPDATE_CERTIFICATE, id, "", "newStatus=ACTIVE"));
    EXPECT_EQ(200, status(ROUTE_DESCRIBE_THING, "dev-001"));
    EXPECT_EQ(409,
              status(ROUTE_REGISTER_CERTIFICATE_WITHOUT_CA, "", register_body(pem1)));

    reg *bad = nullptr;
    reg_opts o2 = {"/nonexistent-dir/x.db", "111122223333", "eu-west-1"};
    err_clear(&e);
    EXPECT_EQ(-1, reg_open(&bad, &o2, &e));
    EXPECT_EQ(ERR_IO, e.code);
}

// Many threads creating and reading things at once: every call answered,
// nothing lost, every id distinct.
TEST_F(Reg, ConcurrentCalls)
{
    const int kThreads = 8, kPer = 300;
    std::vector<std::thread> ts;
    std::atomic<int> bad{0};
    for (int t = 0; t < kThreads; t++) {
        ts.emplace_back([&, t] {
            for (int i = 0; i < kPer; i++) {
                std::string name = "t" + std::to_string(t) + "-" + std::to_string(i);
                std::string body = R"({"attributePayload":{"attributes":{"n":")" +
                                   std::to_string(i) + R"("}}})";
                reg_req q = {ROUTE_CREATE_THING, name.c_str(), nullptr, nullptr,
                             body.data(),        body.size()};
                reg_reply rp;
                reg_reply_init(&rp);
                reg_do(r, &q, &rp);
                if (rp.status != 200)
                    bad++;
                reg_req d = {
                    ROUTE_DESCRIBE_THING, name.c_str(), nullptr, nullptr, nullptr, 0};
                reg_do(r, &d, &rp);
                if (rp.status != 200)
                    bad++;
                reg_reply_free(&rp);
            }
        });
    }
    for (auto &t : ts)
        t.join();
    EXPECT_EQ(0, bad.load());
    std::set<std::string> ids;
    std::string token;
    for (int pages = 0; pages < 100; pages++) {
        std::string q = "maxResults=250" + (token.empty() ? "" : "&nextToken=" + token);
        Reply rp;
        call(rp, ROUTE_LIST_THINGS, "", "", q.c_str());
        size_t i;
        json_t *t;
        json_array_foreach(json_object_get(rp.doc, "things"), i, t)
            ids.insert(json_string_value(json_object_get(t, "thingName")));
        token = rp.str("nextToken");
        if (token.empty())
            break;
    }
    EXPECT_EQ(size_t(kThreads * kPer), ids.size());
}

} // namespace
