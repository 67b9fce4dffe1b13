# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=sh
# Helpers for CLI cases that talk to the Proxmox API stand-in
# (tests/api/pvestub.py).  Source it from a case script (run by
# tests/cli/run.sh with $ROOT and $VFIOHOOK set):
#
#   . "$(dirname "$0")/../../../api/lib.sh"
#   stub_start ROUTES.json        certificate, secret, [api] in the root's
#                                 /etc/vfiohook.conf, server on 127.0.0.1
#   ...                           $STUB_LOG holds what reached the server
#   stub_stop                     (also done at exit)
#
# Set before stub_start to change the [api] section it writes:
#   STUB_API   the whole section's body (default: url, token, secret-file,
#              fingerprint of the stand-in's certificate)
# After stub_start: $STUB_URL, $STUB_FP (the certificate's SHA-256
# fingerprint), $STUB_DIR (cert.pem, key.pem, other.pem), $STUB_TOKEN,
# $STUB_SECRET, $STUB_SECRET_FILE (under $ROOT, mode 600).

STUB_PY=$(cd "$(dirname "$0")/../../../api" && pwd)/pvestub.py
STUB_TOKEN='root@pam!vfiohook'
STUB_SECRET=5ba1c9e1-3f44-4bd3-a1d5-6e0c2e86d2b7
STUB_SECRET_FILE=/etc/vfiohook/api.secret

# stub_cert DIR NAME: a self-signed certificate for localhost and 127.0.0.1
stub_cert() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$1/$2.key" -out "$1/$2.pem" -days 2 -subj /CN=localhost \
		-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
}

# stub_fp FILE: its SHA-256 fingerprint as Proxmox shows it (AB:CD:...)
stub_fp() {
	openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/^.*=//'
}

stub_start() {
	STUB_DIR=$(mktemp -d "${TMPDIR:-/tmp}/pvestub.XXXXXX")
	STUB_LOG=$STUB_DIR/requests.log
	stub_cert "$STUB_DIR" cert
	stub_cert "$STUB_DIR" other
	STUB_FP=$(stub_fp "$STUB_DIR/cert.pem")
	mkdir -p "$ROOT/etc/vfiohook"
	printf '%s\n' "$STUB_SECRET" >"$ROOT$STUB_SECRET_FILE"
	chmod 600 "$ROOT$STUB_SECRET_FILE"
	python3 "$STUB_PY" --cert "$STUB_DIR/cert.pem" --key "$STUB_DIR/cert.key" \
		--routes "$1" --log "$STUB_LOG" --port-file "$STUB_DIR/port" \
		--token "$STUB_TOKEN" --secret "$STUB_SECRET" 2>"$STUB_DIR/stub.err" &
	STUB_PID=$!
	trap 'rc=$?; stub_stop; exit $rc' EXIT
	i=0
	while [ ! -s "$STUB_DIR/port" ]; do
		i=$((i + 1))
		if [ $i -gt 100 ] || ! kill -0 "$STUB_PID" 2>/dev/null; then
			echo "stub did not start: $(cat "$STUB_DIR/stub.err")" >&2
			exit 1
		fi
		sleep 0.05
	done
	STUB_PORT=$(cat "$STUB_DIR/port")
	STUB_URL=https://127.0.0.1:$STUB_PORT
	stub_api "${STUB_API:-$(printf 'url = %s\ntoken = %s\nsecret-file = %s\nfingerprint = %s' \
		"$STUB_URL" "$STUB_TOKEN" "$STUB_SECRET_FILE" "$STUB_FP")}"
}

# stub_api BODY: /etc/vfiohook.conf under the root with [api] BODY (and
# whatever $STUB_CONF_EXTRA holds after it)
stub_api() {
	printf '[api]\n%s\n%s' "$1" "${STUB_CONF_EXTRA:-}" >"$ROOT/etc/vfiohook.conf"
}

stub_stop() {
	if [ -n "${STUB_PID:-}" ]; then
		kill "$STUB_PID" 2>/dev/null || true
		wait "$STUB_PID" 2>/dev/null || true
		STUB_PID=
	fi
	[ -z "${STUB_DIR:-}" ] || rm -rf "$STUB_DIR"
}

# stub_requests: how many requests reached the server
stub_requests() {
	grep -c '"method"' "$STUB_LOG" || true
}

# stub_saw_secret: the secret reached the server (exit status 0) or not
stub_saw_secret() {
	grep -q "$STUB_SECRET" "$STUB_LOG"
}

# stub_clear_log: forget what was logged so far
stub_clear_log() {
	: >"$STUB_LOG"
}
