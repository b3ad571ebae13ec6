# Sourced by .ci/run. tests/test_wine_cmd.py evaluates `credproc env --format cmd` output in a real
# cmd.exe: Wine's (Debian's wine 8.0). Wine's first start builds a prefix (a Windows directory tree
# and registry, ~15 s); it is kept on the machine under /var/cache, keyed by wine's version, so a warm
# CI reuses it. The tests read the same two variables (see README.md).
apt_install wine wine64
WINEDEBUG=-all
WINEPREFIX=${CREDPROC_WINEPREFIX:-/var/cache/credproc-wine/$(wine --version 2>/dev/null | tr -cd 'A-Za-z0-9.~+-')}
CREDPROC_WINEPREFIX=$WINEPREFIX
export WINEDEBUG WINEPREFIX CREDPROC_WINEPREFIX
if [ ! -e "$WINEPREFIX/.complete" ]; then  # marked when whole: a killed first start is made again
  rm -rf "$WINEPREFIX"
  mkdir -p "$(dirname "$WINEPREFIX")"
  wine cmd /c exit >/dev/null 2>&1
  wineserver -w  # the prefix is written by wineserver: wait until it is done
  touch "$WINEPREFIX/.complete"
fi
