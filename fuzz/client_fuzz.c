/* The client's response handling: whatever an endpoint (or a proxy in front
 * of it) answers - status line, headers (x-amzn-ErrorType), body - through
 * libcurl, the header and body callbacks, iot_http_classify and each
 * operation's JSON parsing (iot/ops.c), exactly as a worker runs it.
 *
 * Input: byte 0 picks the operation; the rest is the raw HTTP response.
 * A server thread in this process accepts libcurl's connection on 127.0.0.1,
 * writes the response and shuts its side down, so nothing waits on a peer
 * (every connection of the call gets the same answer).
 * Connections are not reused between inputs (each input is one answer), and
 * both ends close with SO_LINGER 0 so no TIME_WAIT piles up.
 *
 * Each input gets a client (a libcurl easy handle) of its own: with Debian
 * 12's libcurl 7.88.1, a response on a handle that has made a call before can
 * make libcurl read memory it freed itself (first found with a folded header
 * line: fuzz/regressions/client/libcurl-folded-header-after-call, replayed
 * after a-call-before; fuzz/README.md). That is libcurl's to fix; a fresh
 * handle per input keeps the fuzzer on thingpress's code.
 *
 * Checks what the client promises: results are one printable line, and the
 * secret key and session token never appear in them. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <errno.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "fuzz/fuzz_common.h"
#include "iot/client.h"
#include "iot/http.h"

#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define TOKEN "FwoGZXIvYXdzEXAMPLESESSIONTOKEN0123456789"

static iot_client *client;
static iot_config cfg; /* each input's client */
static char url[64];
static int listen_fd = -1;
static const uint8_t *resp; /* the current input's response, for the server */
static size_t resp_len;
static sem_t go, done;
static int wake[2]; /* the fuzzing thread -> server: this input's call is over */

/* libFuzzer's -timeout ticks with SIGALRM: a wait it interrupts is resumed,
 * or the input could be freed while the server still sends it. */
static void wait_sem(sem_t *s)
{
    while (sem_wait(s) != 0)
        if (errno != EINTR)
            abort();
}

static void no_linger(int fd)
{
    struct linger l = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
}

static int sockopt(void *ud, curl_socket_t fd, curlsocktype purpose)
{
    (void)ud, (void)purpose;
    no_linger(fd);
    return CURL_SOCKOPT_OK;
}

/* Sends the current response on fd and ends it. */
static void answer(int fd)
{
    no_linger(fd);
    size_t off = 0;
    while (off < resp_len) {
        ssize_t w = send(fd, resp + off, resp_len - off, MSG_NOSIGNAL);
        if (w <= 0)
            break; /* the client gave up reading */
        off += (size_t)w;
    }
    shutdown(fd, SHUT_WR);
}

/* Per input: answer every connection libcurl opens (usually one) until the
 * fuzzing thread says the call is over (a byte on wake[0]), then close them. */
static void *server(void *arg)
{
    (void)arg;
    sigset_t async; /* libFuzzer's timer and stop signals are the fuzzing thread's */
    sigemptyset(&async);
    int sigs[] = {SIGALRM, SIGINT, SIGTERM, SIGUSR1, SIGUSR2, SIGXCPU};
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
        sigaddset(&async, sigs[i]);
    pthread_sigmask(SIG_BLOCK, &async, NULL);
    for (;;) {
        wait_sem(&go);
        int fds[8], n = 0;
        for (int over = 0; !over;) {
            struct pollfd p[2] = {{.fd = listen_fd, .events = POLLIN},
                                  {.fd = wake[0], .events = POLLIN}};
            if (poll(p, 2, -1) < 0) {
                if (errno == EINTR)
                    continue;
                abort();
            }
            if (p[0].revents & POLLIN) {
                int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
                if (fd >= 0) {
                    answer(fd);
                    if (n < 8)
                        fds[n++] = fd;
                    else
                        close(fd);
                }
            }
            if (p[1].revents & POLLIN) {
                char c;
                over = read(wake[0], &c, 1) == 1;
            }
        }
        for (int i = 0; i < n; i++)
            close(fds[i]);
        sem_post(&done);
    }
    return NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    err e;
    err_clear(&e);
    if (iot_global_init(&e))
        abort();
    struct sockaddr_in addr = {.sin_family = AF_INET};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof addr;
    listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&addr, alen) ||
        listen(listen_fd, 16) || getsockname(listen_fd, (struct sockaddr *)&addr, &alen))
        abort();
    snprintf(url, sizeof url, "http://127.0.0.1:%d", ntohs(addr.sin_port));
    sem_init(&go, 0, 0);
    sem_init(&done, 0, 0);
    if (pipe2(wake, O_CLOEXEC))
        abort();
    pthread_t t;
    int rc = pthread_create(&t, NULL, server, NULL);
    if (rc) {
        fprintf(stderr, "client_fuzz: cannot start the server thread: %s\n",
                strerror(rc));
        abort();
    }
    static iot_target target; /* lives as long as the process: each input's client */
    iot_target_set(&target, url, "us-east-1", NULL, "AKIDEXAMPLE", SECRET, TOKEN, NULL);
    iot_config c = {
        .target = &target,
        .connect_timeout_ms = 1000,
        .timeout_ms = 2000,
    };
    cfg = c;
    return 0;
}

static void client_open(void)
{
    err e;
    err_clear(&e);
    if (iot_client_new(&client, &cfg, &e))
        abort();
    CURL *h = client->curl;
    curl_easy_setopt(h, CURLOPT_SOCKOPTFUNCTION, sockopt);
    curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
    if (getenv("FZ_DEBUG"))
        curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
}

static void check_field(const char *s, size_t cap)
{
    if (getenv("FZ_DEBUG"))
        fprintf(stderr, "fuzz: field \"%.*s\"\n", (int)strnlen(s, cap), s);
    size_t n = strnlen(s, cap);
    if (n == cap)
        abort(); /* not terminated */
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            abort(); /* not one printable line */
    if (strstr(s, SECRET) || strstr(s, TOKEN))
        abort(); /* a secret leaked into a result */
}

static void check_result(const iot_result *r)
{
    check_field(r->code, sizeof r->code);
    check_field(r->message, sizeof r->message);
    check_field(r->resource_id, sizeof r->resource_id);
    check_field(r->resource_arn, sizeof r->resource_arn);
    char line[IOT_MSG_MAX + IOT_CODE_MAX + IOT_ID_MAX + 64];
    iot_result_format(r, line, sizeof line);
    if (getenv("FZ_DEBUG"))
        fprintf(stderr, "fuzz: %s [%s]\n", line, iot_class_name(r->cls));
    (void)iot_class_name(r->cls);
}

static void call(unsigned op)
{
    iot_result res;
    iot_page_req page = {.page_size = 25, .marker = "m1"};
    const char *arn = "arn:aws:iot:us-east-1:123456789012:cert/"
                      "0b5c1f6f1f6a0bd1ae87ee2b2b3d9b49d8a5a1e36b0f6cd0a8e43b5ddb4e2f4a";
    switch (op) {
    case 0: {
        iot_cert_ref r;
        iot_register_certificate(client, "-----BEGIN CERTIFICATE-----\nMIIB\n",
                                 "INACTIVE", &r, &res);
        iot_cert_ref_free(&r);
        break;
    }
    case 1:
        iot_update_certificate(client, "0b5c", "ACTIVE", &res);
        break;
    case 2: {
        iot_cert_desc d;
        iot_describe_certificate(client, "0b5c", 1, &d, &res);
        iot_cert_desc_free(&d);
        break;
    }
    case 3: {
        iot_cert_page p;
        iot_list_certificates(client, &page, 1, &p, &res);
        iot_cert_page_free(&p);
        break;
    }
    case 4: {
        iot_attr attrs[] = {{"serial", "SN-1"}, {"model", "m1"}};
        iot_create_thing_req q = {"plant:7_dev-001", "sensor", attrs, 2};
        iot_thing_ref r;
        iot_create_thing(client, &q, &r, &res);
        iot_thing_ref_free(&r);
        break;
    }
    case 5: {
        iot_thing_desc d;
        iot_describe_thing(client, "dev-001", &d, &res);
        iot_thing_desc_free(&d);
        break;
    }
    case 6:
        iot_attach_thing_principal(client, "dev-001", arn, &res);
        break;
    case 7: {
        iot_name_page p;
        iot_list_thing_principals(client, "dev-001", &page, &p, &res);
        iot_name_page_free(&p);
        break;
    }
    case 8:
        iot_attach_policy(client, "BasicTestPolicy", arn, &res);
        break;
    case 9: {
        iot_name_page p;
        iot_list_attached_policies(client, arn, &page, &p, &res);
        iot_name_page_free(&p);
        break;
    }
    case 10:
        iot_add_thing_to_thing_group(client, "BasicTestGroup", "dev-001", &res);
        break;
    case 11: {
        iot_name_page p;
        iot_list_thing_groups_for_thing(client, "dev-001", &page, &p, &res);
        iot_name_page_free(&p);
        break;
    }
    case 12: {
        iot_policy_desc d;
        iot_get_policy(client, "BasicTestPolicy", &d, &res);
        iot_policy_desc_free(&d);
        break;
    }
    case 13: {
        iot_named_desc d;
        iot_describe_thing_group(client, "BasicTestGroup", &d, &res);
        iot_named_desc_free(&d);
        break;
    }
    default: {
        iot_named_desc d;
        iot_describe_thing_type(client, "BasicTestType", &d, &res);
        iot_named_desc_free(&d);
        break;
    }
    }
    check_result(&res);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > (256 << 10))
        return 0;
    resp = data + 1;
    resp_len = size - 1;
    client_open();
    sem_post(&go);
    call(data[0] % 15);
    iot_client_free(client);
    client = NULL;
    if (write(wake[1], "x", 1) != 1)
        abort();
    wait_sem(&done);
    return 0;
}
