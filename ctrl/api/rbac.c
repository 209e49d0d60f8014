/* ctrl/api/rbac.c - who a caller is and which role they get.
 *
 * Unix socket callers are known by the uid and gid the kernel reports for
 * the peer (SO_PEERCRED; supplementary groups are not available there, so
 * gid rules match the primary group). TLS callers are known by the common
 * name of their verified client certificate, or by a bearer token from
 * the tokens file, which wins when both are present. Rules are taken in
 * order from the live model, so a reload that edits them applies at once;
 * the first rule that matches decides, and no match means no role.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <openssl/crypto.h>
#include "ctrl/api/api_int.h"
#include "ctrl/common/log.h"

#define RBAC__TOKEN_MIN 16	/* shorter tokens work, with a warning */

static int rbac__role(const char *s, enum st_role *out)
{
	enum st_role r;

	for (r = ST_ROLE_NONE; r <= ST_ROLE_ADMIN; r++)
		if (!strcmp(s, st_role_name(r))) {
			*out = r;
			return 0;
		}
	return -EINVAL;
}

static const struct api__token *rbac__find(const struct st_api *a, const char *tok)
{
	const struct api__token *hit = NULL;
	size_t i, len = strlen(tok);

	/* Compare against every token without stopping early. */
	for (i = 0; i < a->ntokens; i++)
		if (strlen(a->tokens[i].token) == len &&
		    !CRYPTO_memcmp(a->tokens[i].token, tok, len))
			hit = &a->tokens[i];
	return hit;
}

static int rbac__add(struct st_api *a, const char *tok, enum st_role role, const char *name)
{
	struct api__token *t = realloc(a->tokens, (a->ntokens + 1) * sizeof(*t));

	if (!t)
		return -ENOMEM;
	a->tokens = t;
	t = &a->tokens[a->ntokens];
	t->token = strdup(tok);
	t->name = strdup(name);
	t->role = role;
	if (!t->token || !t->name) {
		free(t->token);
		free(t->name);
		return -ENOMEM;
	}
	a->ntokens++;
	return 0;
}

/* One line; 1 if it was bad (logged), 0 if used or blank, -ENOMEM. */
static int rbac__line(struct st_api *a, const char *path, int ln, char *line)
{
	char *tok, *role, *name, *extra, *save;
	enum st_role r;

	line[strcspn(line, "\r\n")] = 0;
	tok = strtok_r(line, " \t", &save);
	if (!tok || *tok == '#')
		return 0;
	role = strtok_r(NULL, " \t", &save);
	name = strtok_r(NULL, " \t", &save);
	extra = strtok_r(NULL, " \t", &save);
	if (!role || !name || extra) {
		st_warn("%s:%d: expected \"TOKEN ROLE NAME\"; line ignored", path, ln);
		return 1;
	}
	if (rbac__role(role, &r)) {
		st_warn("%s:%d: unknown role \"%s\" (viewer, operator, admin, none); line ignored",
			path, ln, role);
		return 1;
	}
	if (rbac__find(a, tok)) {
		st_warn("%s:%d: token of \"%s\" repeats an earlier one; line ignored", path, ln, name);
		return 1;
	}
	if (strlen(tok) < RBAC__TOKEN_MIN)
		st_warn("%s:%d: token of \"%s\" is shorter than %d characters; easy to guess",
			path, ln, name, RBAC__TOKEN_MIN);
	return rbac__add(a, tok, r, name);
}

int api__tokens_load(struct st_api *a, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char line[1024];
	struct stat st;
	int ln = 0, rc = 0;

	if (!f) {
		rc = -errno;
		snprintf(err, errlen, "tokens_file %s: %s", path, strerror(-rc));
		return rc;
	}
	if (!fstat(fileno(f), &st) && (st.st_mode & 0004))
		st_warn("%s: tokens are readable by every user; chmod o-r", path);
	while (rc >= 0 && fgets(line, sizeof(line), f)) {
		ln++;
		if (!strchr(line, '\n') && !feof(f)) {
			int c;

			st_warn("%s:%d: line longer than %zu bytes; ignored", path, ln,
				sizeof(line) - 2);
			while ((c = fgetc(f)) != EOF && c != '\n')
				;
			continue;
		}
		rc = rbac__line(a, path, ln, line);
	}
	fclose(f);
	if (rc < 0) {
		snprintf(err, errlen, "tokens_file %s: out of memory", path);
		return rc;
	}
	st_info("api: %zu tokens from %s", a->ntokens, path);
	return 0;
}

void api__tokens_free(struct st_api *a)
{
	size_t i;

	for (i = 0; i < a->ntokens; i++) {
		OPENSSL_cleanse(a->tokens[i].token, strlen(a->tokens[i].token));
		free(a->tokens[i].token);
		free(a->tokens[i].name);
	}
	free(a->tokens);
	a->tokens = NULL;
	a->ntokens = 0;
}

static int rbac__match(const struct st_api_rule *r, const struct api__peer *p)
{
	switch (r->kind) {
	case ST_PRINC_UID: return !p->tls && r->id == p->uid;
	case ST_PRINC_GID: return !p->tls && r->id == p->gid;
	case ST_PRINC_CN: return p->tls && p->cn[0] && !strcmp(r->cn, p->cn);
	case ST_PRINC_ANY: return 1;
	}
	return 0;
}

/* Over TLS, "Authorization: Bearer X" names a token; 1 if one was sent. */
static int rbac__bearer(const struct st_api *a, const struct st_http_req *req,
			struct api__caller *out)
{
	const char *h = st_http_header(req, "Authorization");
	const struct api__token *t;

	if (!h)
		return 0;
	if (strncasecmp(h, "Bearer ", 7)) {
		out->deny = "only \"Authorization: Bearer TOKEN\" is accepted";
		return 1;
	}
	for (h += 7; *h == ' '; h++)
		;
	t = rbac__find(a, h);
	if (!t) {
		out->deny = "unknown bearer token";
		return 1;
	}
	out->role = t->role;
	snprintf(out->who, sizeof(out->who), "token=%s", t->name);
	return 1;
}

void api__authorize(const struct st_api *a, const struct st_api_cfg *cfg,
		    const struct api__peer *peer, const struct st_http_req *req,
		    struct api__caller *out)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	if (peer->tls)
		snprintf(out->who, sizeof(out->who), "cn=%s", peer->cn);
	else
		snprintf(out->who, sizeof(out->who), "uid=%u gid=%u", peer->uid, peer->gid);
	if (peer->tls && rbac__bearer(a, req, out))
		return;
	for (i = 0; i < cfg->nrules; i++)
		if (rbac__match(&cfg->rules[i], peer)) {
			out->role = cfg->rules[i].role;
			return;
		}
	out->role = ST_ROLE_NONE;
}
