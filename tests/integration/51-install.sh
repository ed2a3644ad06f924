#!/usr/bin/env bash
# install_destdir_gives_runnable_binaries_units_and_configs:
# `make install DESTDIR=... PREFIX=/usr/local` then the installed binaries
# answer --version and --help; man pages, documented configs, systemd units
# (dedicated user, StateDirectory, ProtectSystem=strict, NoNewPrivileges,
# Restart=on-failure; systemd-analyze verify when available), sysusers and
# logrotate files are in place; a reinstall keeps an edited config; with
# PREFIX=/usr the configs go to /etc/veille and the units name /usr/bin.
set -uo pipefail
: "${VEILLE_BIN:?}" "${VEILLE_SRC:?}"
tmp=$(mktemp -d /tmp/veille-51.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

# 1. Through the Makefile, as a user would. `-o build`: the build under test
# is complete; do not rebuild it (other tests run meanwhile).
root=$tmp/root
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES   # not the outer `make test`'s jobserver
make -s -o build -C "$VEILLE_SRC" install BUILD="$VEILLE_BIN" PREFIX=/usr/local DESTDIR="$root" \
  >"$tmp/install.log" 2>&1 || { cat "$tmp/install.log"; fail "make install failed"; }
p=$root/usr/local

bins="veille-broker veille-watch veille-sub"
[ -x "$VEILLE_BIN/tools/veille" ] && bins="$bins veille"
for b in $bins; do
  [ -x "$p/bin/$b" ] || fail "$p/bin/$b not installed"
  v=$("$p/bin/$b" --version 2>&1) || fail "$b --version exited $?"
  grep -Eq "^$b [0-9]+\.[0-9]+" <<<"$v" || fail "$b --version printed '$v'"
  h=$("$p/bin/$b" --help 2>&1) || fail "$b --help exited $?"
  grep -q -- "--help" <<<"$h" || fail "$b --help does not list --help"
  if [ "$b" != veille ]; then
    grep -q -- "-c" <<<"$h" || fail "$b --help does not list -c"
    grep -q -- "--version" <<<"$h" || fail "$b --help does not list --version"
  fi
  m=$p/share/man/man1/$b.1
  [ -s "$m" ] || fail "no man page $m"
  if [ "$b" = veille ]; then
    grep -q '^\.SH "COMMAND: CHECK"' "$m" || fail "$m does not describe veille check"
  else
    grep -q '^\.SH OPTIONS' "$m" || fail "$m has no OPTIONS section"
  fi
  grep -q '^\.TH ' "$m" || fail "$m has no .TH header"
done
if [ -x "$VEILLE_BIN/tools/veille" ]; then
  m5=$p/share/man/man5/veille.conf.5
  grep -q '^\.TH VEILLE\.CONF 5' "$m5" || fail "no veille.conf(5) at $m5"
  grep -q '^\.B sub\.sinks\[\]\.quiet_hours' "$m5" || fail "veille.conf(5) lacks sub.sinks[].quiet_hours"
else
  echo "note: the veille CLI is not built; skipped"
fi

for c in broker.conf watch.conf sub.conf sources.conf; do
  [ -s "$p/etc/veille/$c" ] || fail "config $c not installed in etc/veille"
done
for c in broker.conf watch.conf sub.conf sources.conf demo.conf; do
  [ -s "$p/share/doc/veille/examples/$c" ] || fail "example $c not installed"
done
for d in operations.md configuration.md; do
  [ -s "$p/share/doc/veille/$d" ] || fail "doc $d not installed"
done
[ -s "$p/lib/sysusers.d/veille.conf" ] || fail "no sysusers.d entry"
grep -q '^u veille ' "$p/lib/sysusers.d/veille.conf" || fail "sysusers does not create user veille"
t=$p/lib/tmpfiles.d/veille.conf
[ -s "$t" ] || fail "no tmpfiles.d entry"
for want in '^d /usr/local/etc/veille +0750 root +veille' '^z /usr/local/etc/veille/\*\.conf +0640 root +veille' \
            '^d /run/veille +0750 veille +veille' '^d /var/lib/veille/broker +0750 veille +veille'; do
  grep -Eq "$want" "$t" || fail "tmpfiles.d lacks $want"
done
for c in broker.conf watch.conf sub.conf; do
  [ "$(stat -c %a "$p/etc/veille/$c")" = 640 ] || fail "$c not installed 0640"
done
grep -q '^RuntimeDirectory=veille$' "$p/lib/systemd/system/veille-broker.service" \
  || fail "veille-broker.service has no RuntimeDirectory=veille (/run/veille)"
[ -s "$p/etc/logrotate.d/veille" ] || fail "no logrotate snippet"
grep -q 'postrotate' "$p/etc/logrotate.d/veille" || fail "logrotate snippet does not signal the services"

units="veille-broker veille-watch veille-sub veille-watch@"
for u in $units; do
  f=$p/lib/systemd/system/$u.service
  [ -s "$f" ] || fail "unit $u.service not installed"
  for want in '^User=veille$' '^StateDirectory=veille/' '^ProtectSystem=strict$' \
              '^NoNewPrivileges=yes$' '^Restart=on-failure$' '^RestartPreventExitStatus=2$' \
              '^ExecStart=/usr/local/bin/veille-' '^Type=notify$' '^WatchdogSec=[0-9]+'; do
    grep -Eq "$want" "$f" || fail "$u.service lacks $want"
  done
  exe=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$f")
  [ -x "$root$exe" ] || fail "$u.service runs $exe, which is not installed"
  conf=$(sed -n 's/^ExecStart=.* -c \([^ ]*\).*/\1/p' "$f")
  case "$conf" in
    *%i*) ;;
    *) [ -s "$root$conf" ] || fail "$u.service reads $conf, which is not installed" ;;
  esac
done

# systemd's own checker, on copies that point into DESTDIR.
if command -v systemd-analyze >/dev/null 2>&1; then
  mkdir -p "$tmp/units"
  for u in veille-broker veille-watch veille-sub; do
    sed -e "s|=/usr/local/|=$root/usr/local/|g" -e "s| /usr/local/| $root/usr/local/|g" \
      "$p/lib/systemd/system/$u.service" >"$tmp/units/$u.service"
  done
  sed -e "s|=/usr/local/|=$root/usr/local/|g" "$p/lib/systemd/system/veille-watch@.service" \
    >"$tmp/units/veille-watch@shard1.service"
  out=$(cd "$tmp/units" && timeout 120 systemd-analyze verify --man=no ./*.service 2>&1)
  rc=$?
  # Only our own units matter (the host's may have their own complaints).
  mine=$(grep -E 'veille-(broker|watch|sub)' <<<"$out" || true)
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || [ -n "$mine" ]; then
    echo "$out"; fail "systemd-analyze verify complains about the units"
  fi
fi

# A reinstall never overwrites a config the admin edited.
echo "# edited by the admin" >>"$p/etc/veille/watch.conf"
DESTDIR="$root" cmake --install "$VEILLE_BIN" --prefix /usr/local \
  >"$tmp/install2.log" 2>&1 || { cat "$tmp/install2.log"; fail "second install failed"; }
tail -n 1 "$p/etc/veille/watch.conf" | grep -q 'edited by the admin' \
  || fail "reinstall overwrote etc/veille/watch.conf"

# The installed configs are valid for the installed tool.
if [ -x "$p/bin/veille" ]; then
  "$p/bin/veille" check "$p"/etc/veille/*.conf >"$tmp/check.log" 2>&1 \
    || { cat "$tmp/check.log"; fail "installed configs do not pass veille check"; }
fi

# 2. PREFIX=/usr (packagers): configs in /etc/veille, units name /usr/bin.
root2=$tmp/root2
DESTDIR="$root2" cmake --install "$VEILLE_BIN" --prefix /usr >"$tmp/install3.log" 2>&1 \
  || { cat "$tmp/install3.log"; fail "cmake --install --prefix /usr failed"; }
[ -x "$root2/usr/bin/veille-broker" ] || fail "no usr/bin/veille-broker"
"$root2/usr/bin/veille-broker" --version >/dev/null 2>&1 || fail "usr/bin/veille-broker --version"
[ -s "$root2/etc/veille/broker.conf" ] || fail "PREFIX=/usr: no etc/veille/broker.conf"
grep -q '^ExecStart=/usr/bin/veille-broker -c /etc/veille/broker.conf$' \
  "$root2/usr/lib/systemd/system/veille-broker.service" \
  || fail "PREFIX=/usr: unit does not run /usr/bin/veille-broker -c /etc/veille/broker.conf"
[ -s "$root2/etc/logrotate.d/veille" ] || fail "PREFIX=/usr: no /etc/logrotate.d/veille"
echo "ok: installed $(find "$root" -type f | wc -l) files under /usr/local, $(find "$root2" -type f | wc -l) under /usr"
