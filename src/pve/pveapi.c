// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The Proxmox VE API client (pveapi.h): libcurl for HTTPS, OpenSSL for the
 * certificate pin, json-c for the answers.
 *
 * Why a verify callback and not CURLOPT_PINNEDPUBLICKEY: Proxmox shows the
 * SHA-256 fingerprint of the certificate, not of its public key, and the
 * check must happen before the request (with the token) is written.
 * libcurl's CURLOPT_SSL_CTX_FUNCTION runs after every other TLS option is
 * applied and before the handshake; there we install an OpenSSL certificate
 * verification callback that compares the peer certificate's SHA-256 digest
 * and fails the handshake on a mismatch.  CURLOPT_CERTINFO would only tell
 * after the request went out.
 *
 * libcurl (and with it OpenSSL) is loaded with dlopen() when the API is
 * first used, not linked: the program runs as every VM's hookscript, which
 * never needs the network, and libcurl brings some 25 shared libraries
 * with it.  Linked, they doubled the start time of every run on the QEMU
 * rig (0.23 -> 0.48 s per exec under TCG; 11 -> 16 ms on a host).  The
 * real headers type every pointer (__typeof__), so a mismatch does not
 * compile.
 */
#include "pve/pveapi.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/host.h"
#include "base/util.h"

#ifndef VFIOHOOK_VERSION
#define VFIOHOOK_VERSION "unknown"
#endif

#define CONNECT_TIMEOUT_MS 5000L
#define TOTAL_TIMEOUT_MS 30000L
#define MAX_ANSWER (16u << 20) /* a cluster's resources fit many times over */
#define SECRET_MAX 4096
#define NEEDS_OPENSSL "vfiohook needs libcurl built with OpenSSL (libcurl4 on Debian)"

struct pveapi {
	CURL *curl;
	char *url;    /* base, without trailing '/' */
	char *auth;   /* "Authorization: PVEAPIToken=...": holds the secret */
	char *ca;     /* host path of the CA file, or NULL with a pin */
	char *origin; /* where the settings come from */
	bool pinned;
	unsigned char pin[32];
	/* what the verify callback saw in the last handshake */
	bool pin_checked, pin_ok;
	char seen[32 * 3];
	/* the answer being received */
	char *buf;
	size_t len;
	bool too_big;
	char reason[128]; /* HTTP reason phrase of the status line */
	char errbuf[CURL_ERROR_SIZE];
};

/* ---- libcurl and OpenSSL, loaded on first use -------------------------------- */

#define LIBCURL "libcurl.so.4"
#define LIBSSL "libssl.so.3"
#define LIBCRYPTO "libcrypto.so.3"

static struct {
	void *curl, *ssl, *crypto;
	__typeof__(curl_global_init) *global_init;
	__typeof__(curl_easy_init) *easy_init;
	__typeof__(curl_easy_setopt) *easy_setopt;
	__typeof__(curl_easy_perform) *easy_perform;
	__typeof__(curl_easy_getinfo) *easy_getinfo;
	__typeof__(curl_easy_cleanup) *easy_cleanup;
	__typeof__(curl_easy_strerror) *easy_strerror;
	__typeof__(curl_slist_append) *slist_append;
	__typeof__(curl_slist_free_all) *slist_free_all;
	__typeof__(curl_version) *version;
	__typeof__(curl_version_info) *version_info;
	/* OpenSSL, for the fingerprint */
	__typeof__(SSL_CTX_set_verify) *ctx_set_verify;
	__typeof__(SSL_CTX_set_cert_verify_callback) *ctx_set_cert_verify_callback;
	__typeof__(X509_STORE_CTX_get0_cert) *store_get0_cert;
	__typeof__(X509_STORE_CTX_set_error) *store_set_error;
	__typeof__(X509_digest) *digest;
	__typeof__(EVP_sha256) *sha256;
} lib;

#define SYM(handle, field, name)                                                         \
	do {                                                                             \
		*(void **)&lib.field = dlsym(lib.handle, name);                          \
		if (!lib.field)                                                          \
			return errnof(err, -ENOTSUP, "%s lacks %s; %s", #handle, name,   \
				      NEEDS_OPENSSL);                                    \
	} while (0)

/* Load libcurl once; -ENOTSUP with *err when it is not there. */
static int load_curl(char **err)
{
	if (lib.curl)
		return 0;
	lib.curl = dlopen(LIBCURL, RTLD_NOW | RTLD_LOCAL);
	if (!lib.curl)
		return errnof(err, -ENOTSUP, "cannot load %s (%s); %s", LIBCURL,
			      dlerror(), NEEDS_OPENSSL);
	SYM(curl, global_init, "curl_global_init");
	SYM(curl, easy_init, "curl_easy_init");
	SYM(curl, easy_setopt, "curl_easy_setopt");
	SYM(curl, easy_perform, "curl_easy_perform");
	SYM(curl, easy_getinfo, "curl_easy_getinfo");
	SYM(curl, easy_cleanup, "curl_easy_cleanup");
	SYM(curl, easy_strerror, "curl_easy_strerror");
	SYM(curl, slist_append, "curl_slist_append");
	SYM(curl, slist_free_all, "curl_slist_free_all");
	SYM(curl, version, "curl_version");
	SYM(curl, version_info, "curl_version_info");
	return 0;
}

/*
 * The OpenSSL that libcurl itself loaded (RTLD_NOLOAD: the same instance,
 * so the SSL_CTX it hands to our callback is one these functions know).
 */
static int load_openssl(char **err)
{
	if (lib.ssl)
		return 0;
	lib.ssl = dlopen(LIBSSL, RTLD_NOW | RTLD_NOLOAD);
	lib.crypto = dlopen(LIBCRYPTO, RTLD_NOW | RTLD_NOLOAD);
	if (!lib.ssl || !lib.crypto)
		return errnof(
		    err, -ENOTSUP,
		    "fingerprint needs the OpenSSL 3 that libcurl uses (%s), and it is not loaded",
		    LIBSSL);
	SYM(ssl, ctx_set_verify, "SSL_CTX_set_verify");
	SYM(ssl, ctx_set_cert_verify_callback, "SSL_CTX_set_cert_verify_callback");
	SYM(crypto, store_get0_cert, "X509_STORE_CTX_get0_cert");
	SYM(crypto, store_set_error, "X509_STORE_CTX_set_error");
	SYM(crypto, digest, "X509_digest");
	SYM(crypto, sha256, "EVP_sha256");
	return 0;
}

/* ---- settings ------------------------------------------------------------ */

int pveapi_parse_fingerprint(const char *s, unsigned char out[32])
{
	size_t i;

	if (!s)
		return -EINVAL;
	for (i = 0; i < 32; i++) {
		int hi = hex_digit(s[0]), lo = hi < 0 ? -1 : hex_digit(s[1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (unsigned char)(hi << 4 | lo);
		s += 2;
		if (i < 31 && *s++ != ':')
			return -EINVAL;
	}
	return *s ? -EINVAL : 0;
}

/* pve-tokenid: [A-Za-z][A-Za-z0-9.\-_]+ ; the realm has the same form */
static bool word_valid(const char *s, size_t len)
{
	if (len < 2 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return false;
	for (size_t i = 1; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_'))
			return false;
	}
	return true;
}

bool pveapi_token_valid(const char *token)
{
	const char *bang, *at;

	/* PVE::AccessControl: userid "name@realm", name [^\s:/]+, then "!tokenid" */
	if (!token || !(bang = strrchr(token, '!')) ||
	    !word_valid(bang + 1, strlen(bang + 1)))
		return false;
	at = memrchr(token, '@', (size_t)(bang - token));
	if (!at || at == token || !word_valid(at + 1, (size_t)(bang - at - 1)))
		return false;
	for (const char *p = token; p < at; p++)
		if (*p <= ' ' || *p == ':' || *p == '/' || *p == 0x7f)
			return false;
	return true;
}

int pveapi_read_secret(const char *path, char **secret, char **err)
{
	_cleanup_free_ char *hp = NULL, *buf = NULL;
	struct stat st;
	ssize_t n;
	size_t len;
	int fd, r = 0;

	*secret = NULL;
	if (!path || path[0] != '/')
		return errnof(
		    err, -EINVAL,
		    "secret-file '%s' must be an absolute path, e.g. /etc/vfiohook/api.secret",
		    path ? path : "");
	hp = host_pathdup("%s", path);
	/* O_NONBLOCK: a FIFO planted there must not hang us */
	fd = open(hp, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return errnof(
		    err, -errno,
		    "cannot read the API token secret %s: %s; create it with 'install -m 600 -o root /dev/null %s' and put the token's secret (a UUID) in it",
		    path, strerror(errno), path);
	if (fstat(fd, &st) < 0) {
		r = errnof(err, -errno, "cannot stat %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = errnof(
		    err, -EPERM,
		    "the API token secret %s is not a regular file; refusing to use it",
		    path);
		goto out;
	}
	if (st.st_uid != 0) {
		r = errnof(
		    err, -EPERM,
		    "the API token secret %s is owned by uid %u, not root; refusing to use it: run 'chown root: %s'",
		    path, (unsigned)st.st_uid, path);
		goto out;
	}
	if (st.st_mode & 077) {
		r = errnof(
		    err, -EPERM,
		    "the API token secret %s has mode %03o: group or others may read it; refusing to use it: run 'chmod 600 %s' (and replace the token if others may have read it)",
		    path, (unsigned)(st.st_mode & 0777), path);
		goto out;
	}
	buf = xcalloc(1, SECRET_MAX + 1);
	n = read(fd, buf, SECRET_MAX);
	if (n < 0) {
		r = errnof(err, -errno, "cannot read %s: %s", path, strerror(errno));
		goto out;
	}
	len = strcspn(buf, "\n");
	while (len && str_is_space(buf[len - 1]))
		len--;
	buf[len] = '\0';
	if (!len) {
		r = errnof(
		    err, -EINVAL,
		    "the API token secret %s is empty; put the token's secret (a UUID) on its first line",
		    path);
		goto out;
	}
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)buf[i] <= ' ' || buf[i] == 0x7f) {
			r = errnof(
			    err, -EINVAL,
			    "the API token secret in %s holds white space or control characters; it should be the token's secret alone (a UUID)",
			    path);
			goto out;
		}
	*secret = buf;
	buf = NULL;
out:
	if (buf)
		explicit_bzero(buf, SECRET_MAX);
	close(fd);
	return r;
}

/* ---- libcurl callbacks --------------------------------------------------- */

/* Compare two SHA-256 digests in constant time. */
static bool same_digest(const unsigned char *x, const unsigned char *y)
{
	unsigned char d = 0;

	for (size_t i = 0; i < 32; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}

/*
 * OpenSSL's certificate verification, replaced: runs during the handshake,
 * before libcurl writes the request.  Returning 0 fails the handshake.
 */
static int pin_verify(X509_STORE_CTX *xs, void *arg)
{
	struct pveapi *a = arg;
	X509 *cert = lib.store_get0_cert(xs);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned n = 0;

	a->pin_checked = true;
	a->pin_ok = false;
	a->seen[0] = '\0';
	if (!cert || !lib.digest(cert, lib.sha256(), md, &n) || n != 32) {
		lib.store_set_error(xs, X509_V_ERR_APPLICATION_VERIFICATION);
		return 0;
	}
	for (unsigned i = 0; i < 32; i++)
		snprintf(a->seen + (size_t)3 * i, 4, i < 31 ? "%02X:" : "%02X", md[i]);
	if (!same_digest(md, a->pin)) {
		lib.store_set_error(xs, X509_V_ERR_APPLICATION_VERIFICATION);
		return 0;
	}
	a->pin_ok = true;
	return 1;
}

static CURLcode ssl_ctx_setup(CURL *curl, void *sslctx, void *arg)
{
	(void)curl;
	lib.ctx_set_verify(sslctx, SSL_VERIFY_PEER, NULL);
	lib.ctx_set_cert_verify_callback(sslctx, pin_verify, arg);
	return CURLE_OK;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct pveapi *a = arg;
	size_t n = size * nmemb;

	if (a->len + n > MAX_ANSWER) {
		a->too_big = true;
		return 0;
	}
	a->buf = xrealloc(a->buf, a->len + n + 1);
	memcpy(a->buf + a->len, p, n);
	a->len += n;
	a->buf[a->len] = '\0';
	return n;
}

/* Keep the reason phrase of the last status line ("HTTP/1.1 401 No ticket"). */
static size_t on_header(char *p, size_t size, size_t nmemb, void *arg)
{
	struct pveapi *a = arg;
	size_t n = size * nmemb, i = 0, e;

	if (n < 12 || strncmp(p, "HTTP/", 5) != 0)
		return n;
	while (i < n && p[i] != ' ')
		i++;
	i++;
	while (i < n && p[i] != ' ' && p[i] != '\r' && p[i] != '\n')
		i++;
	while (i < n && p[i] == ' ')
		i++;
	e = i;
	while (e < n && p[e] != '\r' && p[e] != '\n')
		e++;
	if (e - i >= sizeof(a->reason))
		e = i + sizeof(a->reason) - 1;
	memcpy(a->reason, p + i, e - i);
	a->reason[e - i] = '\0';
	for (char *c = a->reason; *c; c++)
		if ((unsigned char)*c < ' ')
			*c = ' ';
	return n;
}

/* ---- open ---------------------------------------------------------------- */

#define SET(opt, val)                                                                    \
	do {                                                                             \
		if (lib.easy_setopt(a->curl, opt, val) != CURLE_OK) {                    \
			r = errnof(err, -ENOTSUP, "libcurl lacks %s (%s); %s", #opt,     \
				   lib.version(), NEEDS_OPENSSL);                        \
			goto fail;                                                       \
		}                                                                        \
	} while (0)

static bool url_valid(const char *url)
{
	if (!startswith(url, "https://") || !url[8])
		return false;
	for (const char *p = url; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == '?' || *p == '#')
			return false;
	return true;
}

static int check_conf(const struct pveapi_conf *c, const char *where, char **err)
{
	if (c->url && !url_valid(c->url))
		return errf(
		    err,
		    "%s: url '%s' is not an https:// URL without query, e.g. https://localhost:8006 (the token is never sent in the clear)",
		    where, c->url);
	if (!c->token)
		return errf(
		    err,
		    "%s: no token: create one with 'pveum user token add root@pam vfiohook --privsep 0' and write token = root@pam!vfiohook under [api]",
		    where);
	if (!pveapi_token_valid(c->token))
		return errf(
		    err,
		    "%s: token '%s' is not an API token id of the form USER@REALM!TOKENID, e.g. root@pam!vfiohook",
		    where, c->token);
	if (!c->secret_file)
		return errf(
		    err,
		    "%s: no secret-file: put the token's secret in a file only root can read (chmod 600) and name it with secret-file = under [api]",
		    where);
	if (c->fingerprint && c->ca)
		return errf(
		    err,
		    "%s: both fingerprint and ca are set; set one: fingerprint pins the node's certificate, ca names the CA that signed it",
		    where);
	return 0;
}

int pveapi_open(const struct pveapi_conf *conf, struct pveapi **out, char **err)
{
	const char *where = conf->origin ? conf->origin : "[api]";
	_cleanup_free_ char *secret = NULL;
	struct pveapi *a;
	size_t ulen;
	int r;

	*out = NULL;
	r = check_conf(conf, where, err);
	if (r < 0)
		return r;
	a = xcalloc(1, sizeof(*a));
	a->origin = xstrdup(where);
	a->url = xstrdup(conf->url ? conf->url : PVEAPI_DEFAULT_URL);
	ulen = strlen(a->url);
	while (ulen > 8 && a->url[ulen - 1] == '/')
		a->url[--ulen] = '\0';
	if (conf->fingerprint) {
		if (pveapi_parse_fingerprint(conf->fingerprint, a->pin) < 0) {
			r = errf(
			    err,
			    "%s: fingerprint '%s' is not a SHA-256 fingerprint: expected 32 hex bytes joined by ':' as 'pvenode cert info' shows it (AB:CD:...)",
			    where, conf->fingerprint);
			goto fail;
		}
		a->pinned = true;
	} else {
		const char *ca = conf->ca ? conf->ca : PVEAPI_DEFAULT_CA;

		if (ca[0] != '/') {
			r = errf(err, "%s: ca '%s' must be an absolute path", where, ca);
			goto fail;
		}
		a->ca = host_pathdup("%s", ca);
		if (access(a->ca, R_OK) < 0) {
			r = errnof(
			    err, -errno,
			    conf->ca
				? "%s: cannot read the CA file %s: %s; fix ca under [api]"
				: "%s: no fingerprint and no CA file %s (%s): set fingerprint (from 'pvenode cert info') or ca under [api]",
			    where, ca, strerror(errno));
			goto fail;
		}
	}
	r = pveapi_read_secret(conf->secret_file, &secret, err);
	if (r < 0 || !secret) {
		r = r < 0 ? r : -EINVAL;
		goto fail;
	}
	a->auth = xasprintf("Authorization: PVEAPIToken=%s=%s", conf->token, secret);
	explicit_bzero(secret, strlen(secret));

	r = load_curl(err);
	if (r < 0)
		goto fail;
	if (lib.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		r = errnof(err, -ENOMEM, "cannot initialise libcurl");
		goto fail;
	}
	a->curl = lib.easy_init();
	if (!a->curl) {
		r = errnof(err, -ENOMEM, "cannot initialise libcurl");
		goto fail;
	}
	SET(CURLOPT_ERRORBUFFER, a->errbuf);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_PROTOCOLS_STR, "https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	/* the API is the cluster's own: never through a proxy from the environment */
	SET(CURLOPT_NOPROXY, "*");
	SET(CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
	SET(CURLOPT_TIMEOUT_MS, TOTAL_TIMEOUT_MS);
	SET(CURLOPT_USERAGENT, "vfiohook/" VFIOHOOK_VERSION);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, a);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, a);
	/* a resumed TLS session would skip the certificate check */
	SET(CURLOPT_SSL_SESSIONID_CACHE, 0L);
	if (a->pinned) {
		const curl_version_info_data *v = lib.version_info(CURLVERSION_NOW);

		/* the SSL_CTX handed to the callback is OpenSSL's only then */
		if (!v->ssl_version || !startswith(v->ssl_version, "OpenSSL")) {
			r = errnof(
			    err, -ENOTSUP,
			    "%s: fingerprint needs libcurl built with OpenSSL (this one uses %s); use ca instead",
			    where, v->ssl_version ? v->ssl_version : "no TLS");
			goto fail;
		}
		r = load_openssl(err);
		if (r < 0)
			goto fail;
		/* the fingerprint is the server's identity: the CA chain and host
		 * name are not checked; our callback makes the handshake fail */
		SET(CURLOPT_SSL_VERIFYPEER, 0L);
		SET(CURLOPT_SSL_VERIFYHOST, 0L);
		SET(CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_setup);
		SET(CURLOPT_SSL_CTX_DATA, a);
	} else {
		SET(CURLOPT_SSL_VERIFYPEER, 1L);
		SET(CURLOPT_SSL_VERIFYHOST, 2L);
		SET(CURLOPT_CAINFO, a->ca);
		/* only that CA: not also the system's public ones (/etc/ssl/certs) */
		SET(CURLOPT_CAPATH, (char *)NULL);
	}
	*out = a;
	return 0;
fail:
	pveapi_free(a);
	return r;
}

void pveapi_free(struct pveapi *a)
{
	if (!a)
		return;
	if (a->curl)
		lib.easy_cleanup(a->curl);
	if (a->auth)
		explicit_bzero(a->auth, strlen(a->auth));
	free(a->auth);
	free(a->url);
	free(a->ca);
	free(a->origin);
	free(a->buf);
	free(a);
}

const char *pveapi_url(const struct pveapi *a)
{
	return a->url;
}

/* ---- requests ------------------------------------------------------------ */

/* Proxmox's error text: "message" (trailing newline cut) and "errors". */
static char *error_text(const char *body)
{
	json_object *o = body ? json_tokener_parse(body) : NULL;
	json_object *m = NULL, *errs = NULL;
	char *res = NULL;

	if (o && json_object_is_type(o, json_type_object)) {
		if (json_object_object_get_ex(o, "message", &m) &&
		    json_object_is_type(m, json_type_string)) {
			const char *s = json_object_get_string(m);
			size_t n = strlen(s);

			while (n && str_is_space(s[n - 1]))
				n--;
			res = xstrndup(s, n);
		}
		if (json_object_object_get_ex(o, "errors", &errs) &&
		    json_object_is_type(errs, json_type_object)) {
			json_object_object_foreach (errs, k, v) {
				const char *vs = json_object_get_string(v);
				size_t n = strlen(vs);
				char *t;

				while (n && str_is_space(vs[n - 1]))
					n--;
				t = xasprintf("%s%s%s: %.*s", res ? res : "",
					      res ? "; " : "", k, (int)n, vs);
				free(res);
				res = t;
			}
		}
	}
	json_object_put(o);
	return res;
}

static const char *status_hint(long status)
{
	switch (status) {
	case 401:
		return "check token and secret-file under [api] in /etc/vfiohook.conf (pveum user token list)";
	case 403:
		return "the token lacks a privilege: it needs VM.Audit, Sys.Audit, Datastore.Audit and Mapping.Audit on / (a privilege-separated token needs its own ACL: pveum acl modify / --tokens USER@REALM!TOKENID --roles PVEAuditor)";
	case 595:
		return "the node the request was forwarded to cannot be reached (pvecm status)";
	default:
		return "see the node's journal (journalctl -u pveproxy -u pvedaemon)";
	}
}

int pveapi_get(struct pveapi *a, const char *path, json_object **data, char **err)
{
	_cleanup_free_ char *url = NULL, *perr = NULL;
	struct curl_slist *hdr = NULL;
	json_tokener *tok = NULL;
	json_object *root = NULL, *d = NULL;
	long status = 0, nconn = 0;
	size_t end;
	CURLcode cc;
	int r = 0;

	*data = NULL;
	if (!path || path[0] != '/')
		return errf(err, "API path '%s' must start with '/'", path ? path : "");
	url = xasprintf("%s/api2/json%s", a->url, path);
	free(a->buf);
	a->buf = NULL;
	a->len = 0;
	a->too_big = false;
	a->reason[0] = a->errbuf[0] = a->seen[0] = '\0';
	a->pin_checked = a->pin_ok = false;

	hdr = lib.slist_append(hdr, "Accept: application/json");
	hdr = lib.slist_append(hdr, a->auth);
	if (!hdr)
		return errnof(err, -ENOMEM, "out of memory");
	lib.easy_setopt(a->curl, CURLOPT_URL, url);
	lib.easy_setopt(a->curl, CURLOPT_HTTPGET, 1L);
	lib.easy_setopt(a->curl, CURLOPT_HTTPHEADER, hdr);
	cc = lib.easy_perform(a->curl);
	lib.easy_setopt(a->curl, CURLOPT_HTTPHEADER, NULL);
	lib.slist_free_all(hdr);
	lib.easy_getinfo(a->curl, CURLINFO_NUM_CONNECTS, &nconn);

	if (a->pinned && a->pin_checked && !a->pin_ok) {
		r = errnof(
		    err, -EKEYREJECTED,
		    "%s: the server's certificate has the SHA-256 fingerprint %s, not the one set in %s; nothing was sent. If the node's certificate was renewed, compare with 'pvenode cert info' on the node and update fingerprint",
		    url, a->seen[0] ? a->seen : "(unreadable)", a->origin);
		goto out;
	}
	if (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE) {
		r = errnof(
		    err, -EKEYREJECTED,
		    "%s: the server's certificate failed verification (%s); nothing was sent. Check ca (or set fingerprint from 'pvenode cert info') in %s",
		    url, a->errbuf[0] ? a->errbuf : lib.easy_strerror(cc), a->origin);
		goto out;
	}
	if (cc != CURLE_OK && a->too_big) {
		r = errnof(err, -EBADMSG,
			   "%s: the answer is larger than %u MiB; refusing it", url,
			   MAX_ANSWER >> 20);
		goto out;
	}
	if (cc != CURLE_OK) {
		r = errnof(
		    err, -EHOSTUNREACH,
		    "%s: %s (%s); is pveproxy running there (systemctl status pveproxy) and the url in %s right?",
		    url, lib.easy_strerror(cc), a->errbuf[0] ? a->errbuf : "no details",
		    a->origin);
		goto out;
	}
	/* a fresh connection whose certificate our callback did not approve must
	 * never happen (a resumed session is off); refuse to trust the answer */
	if (a->pinned && nconn > 0 && !a->pin_ok) {
		r = errnof(
		    err, -EKEYREJECTED,
		    "%s: the certificate was not checked against the fingerprint; refusing the answer",
		    url);
		goto out;
	}
	lib.easy_getinfo(a->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		perr = error_text(a->buf);
		/* pveproxy sends its message as the reason phrase and in the body */
		if (perr && startswith(perr, a->reason))
			a->reason[0] = '\0';
		r = errnof(err, status == 401 || status == 403 ? -EACCES : -EREMOTEIO,
			   "%s: HTTP %ld%s%s%s%s: %s", url, status,
			   a->reason[0] ? " " : "", a->reason, perr ? ": " : "",
			   perr ? perr : "", status_hint(status));
		goto out;
	}
	tok = json_tokener_new();
	root = a->buf ? json_tokener_parse_ex(tok, a->buf, (int)a->len) : NULL;
	end = root ? json_tokener_get_parse_end(tok) : 0;
	while (root && end < a->len && str_is_space(a->buf[end]))
		end++;
	if (!root || json_tokener_get_error(tok) != json_tokener_success ||
	    end != a->len) {
		enum json_tokener_error je = json_tokener_get_error(tok);

		r = errnof(
		    err, -EBADMSG,
		    "%s: HTTP 200 but the answer is not JSON (%s at byte %zu of %zu); is the url under [api] a Proxmox VE node?",
		    url,
		    !a->buf			  ? "empty answer"
		    : je == json_tokener_success  ? "trailing data"
		    : je == json_tokener_continue ? "it ends early"
						  : json_tokener_error_desc(je),
		    json_tokener_get_parse_end(tok), a->len);
		goto out;
	}
	if (!json_object_is_type(root, json_type_object) ||
	    !json_object_object_get_ex(root, "data", &d)) {
		r = errnof(
		    err, -EBADMSG,
		    "%s: HTTP 200 but the answer has no \"data\" member; is the url under [api] a Proxmox VE node?",
		    url);
		goto out;
	}
	*data = json_object_get(d);
out:
	json_object_put(root);
	if (tok)
		json_tokener_free(tok);
	return r;
}
