/* ctrl/config/model.h - the one model of desired state. Every source
 * (config file now; API edits, health checks and clustermesh later) writes
 * it; every engine (XDP maps now) reconciles from it. */
#ifndef STRAIT_CTRL_CONFIG_MODEL_H
#define STRAIT_CTRL_CONFIG_MODEL_H

#include <limits.h>
#include <net/if.h>
#include <stddef.h>
#include <stdint.h>
#include "pkt/abi.h"
#include "ctrl/l7/route.h"
#include "ctrl/config/model_ipsec.h"

#define ST_NAME_MAX 64
#define ST_IDENT_MAX 64
#define ST_MAX_IFACES 8

enum st_side { ST_ROLE_EXTERNAL, ST_ROLE_INTERNAL };
enum st_xdp_mode { ST_XDP_NATIVE, ST_XDP_GENERIC, ST_XDP_AUTO };

struct st_model_iface {
	char name[IF_NAMESIZE];
	enum st_side role;
	enum st_xdp_mode mode;
};

struct st_model_backend {
	char ident[ST_IDENT_MAX];	/* "10.1.0.11:8080", "[fd00::1]:80" */
	struct st_backend be;		/* address, port, family (wire form) */
	uint32_t weight;
	char group[ST_NAME_MAX];
	int line;
};

enum st_health_type { ST_HEALTH_NONE, ST_HEALTH_TCP, ST_HEALTH_HTTP };

/* Active health checks of every backend of a service. */
struct st_health_cfg {
	enum st_health_type type;
	uint32_t interval_ms;
	uint32_t timeout_ms;
	uint32_t rise;			/* successes to become up */
	uint32_t fall;			/* failures to become down */
	uint16_t port;			/* 0: the backend's port */
	int expect_status;		/* HTTP: expected status code */
	char path[128];			/* HTTP: request path */
};

#define ST_L7_CERTS_MAX 16

/* What an l7 service adds: routes (ctrl/l7/route.h) and, with TLS, the
 * certificates offered by SNI. */
struct st_l7_service {
	struct st_l7_route *routes;
	size_t nroutes;
	int tls;
	struct { char cert_file[PATH_MAX], key_file[PATH_MAX]; } certs[ST_L7_CERTS_MAX];
	size_t ncerts;
	uint16_t redirect_port;		/* tls.redirect_http: plain port answering 308 to https; 0 none */
	int no_tickets;			/* tls.session_tickets = false: no resumption */
};

void st_l7_service_free(struct st_l7_service *l7);
struct st_l7_service *st_l7_service_copy(const struct st_l7_service *src);

struct st_model_service {
	char name[ST_NAME_MAX];
	struct st_vip_key key;
	uint32_t flags;			/* ST_SVC_F_* */
	struct st_health_cfg health;
	struct st_model_backend *backends;
	size_t nbackends;
	struct st_l7_service *l7;	/* mode "l7": served by the HTTP engine; NULL: l4 */
	int line;
};

enum st_role { ST_ROLE_NONE, ST_ROLE_VIEWER, ST_ROLE_OPERATOR, ST_ROLE_ADMIN };
enum st_principal { ST_PRINC_UID, ST_PRINC_GID, ST_PRINC_CN, ST_PRINC_ANY };

/* One RBAC rule: who (a uid or gid over the unix socket, a client
 * certificate's common name over TLS, or anyone) gets which role. */
struct st_api_rule {
	enum st_principal kind;
	uint32_t id;			/* uid or gid */
	char cn[ST_NAME_MAX];
	enum st_role role;
};

#define ST_API_RULES_MAX 32

struct st_api_cfg {
	char socket[108];		/* unix socket path; "" disables */
	uint32_t socket_mode;
	struct st_api_rule rules[ST_API_RULES_MAX];
	size_t nrules;
	char tcp_listen[64];		/* "ADDR:PORT" for HTTPS; "" disables */
	char cert_file[PATH_MAX];
	char key_file[PATH_MAX];
	char ca_file[PATH_MAX];		/* client certificates must chain to it */
	char tokens_file[PATH_MAX];	/* "TOKEN ROLE NAME" lines (TCP only) */
	char audit_log[PATH_MAX];	/* JSON lines of every mutating call */
};

/* gateway.observe: flow records from the data path, kept in memory for
 * `straitctl observe` and optionally logged to a file. */
struct st_observe_cfg {
	int events;			/* the data path writes records (default on) */
	uint32_t rate_per_cpu;		/* records per second per CPU; 0: no limit */
	uint32_t ring_kb;		/* BPF ring buffer size, power of two */
	uint32_t history;		/* records kept in memory */
	char log_path[PATH_MAX];	/* JSON-lines flow log; "" disables */
	uint32_t log_max_mb;		/* rotate at this size */
	uint32_t log_keep;		/* rotated files kept (.1 .. .N) */
	uint32_t log_sample;		/* log one record in N (1: all) */
	char access_log[PATH_MAX];	/* HTTP engine: a JSON line per request; "" none */
};

struct st_mesh_model;

/* gateway.http: the HTTP engine's workers, timeouts and limits (restart). */
struct st_http_cfg {
	uint64_t max_body;		/* request body bytes (413); 0: no limit */
	uint32_t workers;		/* 0: one per CPU straitd may run on */
	uint32_t header_timeout_ms;	/* a request head must arrive within */
	uint32_t idle_timeout_ms;	/* keep-alive client connection idle */
	uint32_t connect_timeout_ms;	/* upstream connect */
	uint32_t response_timeout_ms;	/* upstream silent while a response is due */
	uint32_t pool_idle_ms;		/* idle upstream connection kept */
	uint32_t pool_max;		/* idle upstream connections per worker */
	uint32_t max_head;		/* request head bytes (431) */
	uint32_t max_fields;		/* request header fields (431) */
	uint32_t max_uri;		/* request target bytes (414) */
};
/* Reloads compare it with memcmp: it must have no padding bytes. */
_Static_assert(sizeof(struct st_http_cfg) == 8 + 10 * 4, "st_http_cfg has padding");

struct st_model {
	char source[PATH_MAX];
	struct st_model_iface ifaces[ST_MAX_IFACES];
	size_t nifaces;
	struct st_cfg cfg;		/* SNAT addresses */
	uint32_t ring_size;
	uint32_t max_services;
	uint32_t max_backends;
	uint32_t ct_entries;
	char bpffs[PATH_MAX];
	struct st_api_cfg api;
	char metrics_listen[64];	/* Prometheus exporter "ADDR:PORT"; "" disables */
	struct st_observe_cfg observe;
	/* gateway.timeouts: conntrack idle timeouts, seconds (restart). */
	uint32_t tcp_timeout_s, tcp_closing_timeout_s, udp_timeout_s;
	struct st_http_cfg http;
	struct st_model_ipsec ipsec;	/* top-level "ipsec" (model_ipsec.h; restart) */
	struct st_model_service *services;
	size_t nservices;
	struct st_mesh_model *mesh;	/* clustermesh (mesh_model.h); NULL: none */
};

/* Parse and validate a config file into *m. On error returns -EINVAL and
 * writes "file:line: key: problem" lines into err; *m is then empty. */
int st_config_load(const char *path, struct st_model *m, char *err, size_t errlen);
/* The same from a string (tests, fuzzing); `name` stands for the file. */
int st_config_parse(const char *text, const char *name, struct st_model *m,
		    char *err, size_t errlen);
void st_model_free(struct st_model *m);
/* Deep copy (services and backends); 0 or -ENOMEM. */
int st_model_copy(struct st_model *dst, const struct st_model *src);
const char *st_role_name(enum st_role r);

/* "addr:port" text of a backend or frontend. */
void st_model_ident(const __be32 *addr, int family, uint16_t port, char *out,
		    size_t len);

#endif
