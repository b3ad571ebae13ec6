# Sourced by .ci/run. tests/test_wine_cmd.py evaluates `credproc env --format cmd` output in a real
# cmd.exe: Wine's (Debian's wine 8.0). Wine's first start builds a prefix (a Windows directory tree
# and registry, ~15 s); it is kept on the machine under /var/cache, keyed by wine's version, so a warm
# CI reuses it; the key also names the ProcessPrng shim built into it (below). The tests read the
# same variables (see README.md).
apt_install wine wine64 gcc-mingw-w64-x86-64-win32  # mingw: the ProcessPrng shim below
WINEDEBUG=-all
_shim=tests/go/winshim/bcryptprimitives.c
_key="$(wine --version 2>/dev/null | tr -cd 'A-Za-z0-9.~+-')-$(sha256sum "$_shim" | cut -c1-8)"
WINEPREFIX=${CREDPROC_WINEPREFIX:-/var/cache/credproc-wine/$_key}
CREDPROC_WINEPREFIX=$WINEPREFIX
export WINEDEBUG WINEPREFIX CREDPROC_WINEPREFIX
if [ ! -e "$WINEPREFIX/.complete" ]; then  # marked when whole: a killed first start is made again
  rm -rf "$WINEPREFIX"
  mkdir -p "$(dirname "$WINEPREFIX")"
  wine cmd /c exit >/dev/null 2>&1
  wineserver -w  # the prefix is written by wineserver: wait until it is done
  # Go >= 1.22 programs (tests/go/showenv) need ProcessPrng, which Wine 8.0 lacks: a native
  # bcryptprimitives.dll in the prefix's system32 gives it to them.
  x86_64-w64-mingw32-gcc -shared -O2 -Wl,--kill-at -o "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll" \
    "$_shim" -ladvapi32
  touch "$WINEPREFIX/.complete"
fi
unset _shim _key
