#!/bin/sh
# Install the Debian packages the project needs to build, run and test,
# only those that are missing.  As root it runs apt-get; otherwise it prints
# the one command to run and fails, so `make` stops before a confusing
# compiler or linker error.  CLP_EXTRA_PACKAGES adds packages that only CI
# wants (.ci/run: prometheus, for promtool).
set -eu

PACKAGES="
gcc clang libclang-rt-14-dev make pkg-config
libfcgi-dev libpq-dev libjson-c-dev libcrypt-dev libssl-dev libcmocka-dev
postgresql postgresql-15 postgresql-client-15 postgresql-15-pgtap
libtap-parser-sourcehandler-pgtap-perl
nginx spawn-fcgi curl openssl python3 python3-yaml shellcheck procps valgrind wrk
${CLP_EXTRA_PACKAGES:-}"

missing=""
for pkg in $PACKAGES; do
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	case "$status" in
	*" installed") ;;
	*) missing="$missing $pkg" ;;
	esac
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing Debian packages; run:" >&2
	echo "  sudo apt-get install -y$missing" >&2
	exit 1
fi

echo "deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# A fresh machine may have empty package lists.
apt-get update -qq
# Debian's postinst scripts start nginx and a default PostgreSQL cluster as
# system services; the project runs its own, so keep them from starting.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	created_policy=1
fi
status=0
# shellcheck disable=SC2086 # word splitting of the package list is intended
apt-get install -y -qq --no-install-recommends $missing || status=$?
[ "$created_policy" -eq 1 ] && rm -f "$policy"
exit "$status"
