/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A client of the Proxmox VE REST API (https://host:8006/api2/json/...,
 * answers wrapped in {"data": ...}; proxmox-facts.md "REST API"), the one
 * module that wraps libcurl.  It authenticates with an API token
 * (`Authorization: PVEAPIToken=USER@REALM!TOKENID=SECRET`) and trusts the
 * server by one of:
 *
 *   fingerprint  the SHA-256 fingerprint of the node's certificate, colon-
 *                separated hex as Proxmox shows it (pvenode cert info, GUI:
 *                Node > System > Certificates).  Checked by our own OpenSSL
 *                verify callback DURING the TLS handshake, so a server with
 *                another certificate never receives the request, the token
 *                included.
 *   ca           a PEM file of the CA that signed the node's certificate
 *                (Proxmox's cluster CA /etc/pve/pve-root-ca.pem is the default
 *                when it exists), with host name checking; libcurl verifies it
 *                during the handshake, also before anything is sent.
 *
 * The secret is read from a file that must be a regular file owned by root
 * with no group or other access.  Every file path is under the host root
 * (base/host.h).  Timeouts are bounded (connect 5 s, whole request 30 s);
 * hook phases never use this module.
 *
 * Functions return 0 or a negative errno with *err naming the URL, the HTTP
 * status and Proxmox's own message, and what to do.
 */
#ifndef VFIOHOOK_PVEAPI_H
#define VFIOHOOK_PVEAPI_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#define PVEAPI_DEFAULT_URL "https://localhost:8006"
#define PVEAPI_DEFAULT_CA "/etc/pve/pve-root-ca.pem"

/* Settings, as the [api] section of /etc/vfiohook.conf gives them; NULL = unset. */
struct pveapi_conf {
	const char *url;	 /* default PVEAPI_DEFAULT_URL */
	const char *token;	 /* USER@REALM!TOKENID, required */
	const char *secret_file; /* required */
	const char *fingerprint; /* exclusive with ca */
	const char *ca;		 /* default PVEAPI_DEFAULT_CA when it exists */
	const char *origin;	 /* where the settings come from, for messages */
};

struct pveapi;

/*
 * Check the settings, read the secret, prepare libcurl.  Nothing goes over
 * the network here.  Errors (-EINVAL bad setting, -EPERM a secret file with
 * the wrong owner, type or mode, -errno an unreadable file) name the
 * setting and the fix.
 */
int pveapi_open(const struct pveapi_conf *conf, struct pveapi **out, char **err);
void pveapi_free(struct pveapi *api);

/* The base URL in use ("https://localhost:8006"). */
const char *pveapi_url(const struct pveapi *api);

/*
 * GET <url>/api2/json<path> and return its "data" member (a new reference,
 * may be NULL for JSON null) in *data.  path starts with '/' and may carry a
 * query ("?current=1").  Errors:
 *   -EKEYREJECTED  the server's certificate failed verification (wrong
 *                  fingerprint, unknown CA, wrong host name): nothing was sent
 *   -EHOSTUNREACH  connecting or the transfer failed (refused, timeout, TLS)
 *   -EACCES        HTTP 401 or 403
 *   -EREMOTEIO     another HTTP error status
 *   -EBADMSG       the answer is not JSON of the form {"data": ...}
 */
int pveapi_get(struct pveapi *api, const char *path, json_object **data, char **err);

/*
 * Read an API token secret from path (under the host root).  Refused
 * (-EPERM) unless a regular file owned by root with no group or other
 * access; the secret is the first line, which must not be empty nor hold
 * control characters.  Exposed for tests.
 */
int pveapi_read_secret(const char *path, char **secret, char **err);

/* "AB:CD:..." (32 bytes, hex case-insensitive) -> out; -EINVAL otherwise. */
int pveapi_parse_fingerprint(const char *s, unsigned char out[32]);

/* USER@REALM!TOKENID as Proxmox's token ids are formed; true when valid. */
bool pveapi_token_valid(const char *token);

#endif
