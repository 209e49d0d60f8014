/* ctrl/mesh/decode.h - Cilium clustermesh service records, decoded.
 *
 * A cluster's clustermesh-apiserver publishes each exported service under
 * "cilium/state/services/v1/<cluster>/<namespace>/<name>" as the JSON form
 * of Cilium's ClusterService: cluster, namespace, name, frontends and
 * backends (maps from an IP address to named ports, each {"Protocol",
 * "Port"}; lowercase "protocol"/"port" are accepted too), labels,
 * selector, includeExternal, shared and clusterID. The decoder is strict:
 * every rejection names the field path ("backends[\"10.0.0.1\"].http.Port:
 * not an integer") so that the log line alone says what to fix. Unknown
 * fields are ignored (newer Cilium releases add some). No I/O, no globals:
 * usable from a fuzzer as is. */
#ifndef STRAIT_CTRL_MESH_DECODE_H
#define STRAIT_CTRL_MESH_DECODE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ST_MESH_SVC_PREFIX "cilium/state/services/v1/"
#define ST_MESH_SYNCED_PREFIX "cilium/synced/"

/* Kubernetes names are at most 63 bytes; Cilium's cluster names 32. */
#define ST_MESH_NAME_MAX 64
#define ST_MESH_VALUE_MAX (1u << 20)	/* bytes of one JSON value */
#define ST_MESH_ADDRS_MAX 16384		/* frontends or backends of one service */
#define ST_MESH_PORTS_MAX 128		/* named ports of one address */
#define ST_MESH_ERR_MAX 256

/* One named port; proto is IPPROTO_TCP/UDP/SCTP, or 0 for Cilium's
 * "ANY"/"NONE" (and an absent protocol). */
struct st_mesh_port {
	char name[ST_MESH_NAME_MAX];	/* "" for Kubernetes' unnamed port */
	uint8_t proto;
	uint16_t port;			/* host order, 1..65535 */
};

struct st_mesh_addr {
	int family;			/* AF_INET or AF_INET6 */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} a;
	char text[INET6_ADDRSTRLEN];	/* canonical form (inet_ntop) */
	struct st_mesh_port *ports;	/* sorted by name */
	size_t nports;
};

struct st_mesh_svc {
	char cluster[ST_MESH_NAME_MAX];
	char ns[ST_MESH_NAME_MAX];
	char name[ST_MESH_NAME_MAX];
	uint32_t cluster_id;
	bool shared;
	bool include_external;
	struct st_mesh_addr *frontends;	/* sorted by family, then address */
	size_t nfrontends;
	struct st_mesh_addr *backends;	/* sorted likewise */
	size_t nbackends;
};

/* Decode one value into *out (which it owns on success; release it with
 * st_mesh_svc_clear). 0, or -EINVAL / -E2BIG / -ENOMEM with the field
 * path and the reason in err; *out is left empty on failure. */
int st_mesh_svc_decode(const char *json, size_t len, struct st_mesh_svc *out,
		       char *err, size_t errlen);
void st_mesh_svc_clear(struct st_mesh_svc *s);
/* Same content (addresses, ports, flags, names)? */
bool st_mesh_svc_equal(const struct st_mesh_svc *a, const struct st_mesh_svc *b);

/* Split "cilium/state/services/v1/<cluster>/<ns>/<name>" (not
 * NUL-terminated, len bytes) into its three names. 0 or -EINVAL with the
 * reason in err. */
int st_mesh_key_parse(const char *key, size_t len, char cluster[ST_MESH_NAME_MAX],
		      char ns[ST_MESH_NAME_MAX], char name[ST_MESH_NAME_MAX],
		      char *err, size_t errlen);
/* The decoded value belongs under that key: cluster, namespace and name
 * all agree. 0 or -EINVAL naming the field that disagrees. */
int st_mesh_svc_check_key(const struct st_mesh_svc *s, const char *cluster,
			  const char *ns, const char *name, char *err, size_t errlen);

/* "TCP", "UDP", "SCTP" or "ANY". */
const char *st_mesh_proto_name(uint8_t proto);

#endif
