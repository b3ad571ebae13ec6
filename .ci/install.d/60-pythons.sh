# Sourced by .ci/run. The suite also runs on the other interpreters this kind of machine has
# (Python 3.10, 3.12, 3.13 beside the default): one venv each, kept on the machine under
# $CREDPROC_VENV_CACHE and keyed by pyproject.toml, so that a fresh clone (every CI run is one) does
# not install the test dependencies three times again; .ci/work/pyX.Y links to it, and only the
# editable install of credproc itself is re-pointed at this checkout (seconds).
CREDPROC_VENV_CACHE=${CREDPROC_VENV_CACHE:-/var/cache/credproc-venvs}
find_python() {
  local v=$1 root
  if command -v "python$v" >/dev/null 2>&1 && "python$v" -c pass 2>/dev/null; then command -v "python$v"; return; fi
  root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
  for p in "$root"/versions/"$v".*/bin/python"$v"; do [ -x "$p" ] && { echo "$p"; return; }; done
  return 1
}
_deps_key=$(sha256sum pyproject.toml | cut -c1-12)
mkdir -p .ci/work "$CREDPROC_VENV_CACHE"
for v in 3.10 3.12 3.13; do
  cached="$CREDPROC_VENV_CACHE/py$v-$_deps_key"
  if [ ! -e "$cached/.complete" ]; then  # made in place (a venv cannot move), marked when whole
    py=$(find_python "$v") || { echo "Python $v is not on this machine" >&2; exit 1; }
    rm -rf "$cached"
    "$py" -m venv "$cached"
    "$cached/bin/python" -m pip install -q -e '.[test]'
    touch "$cached/.complete"
  fi
  ln -sfn "$cached" ".ci/work/py$v"
  "$cached/bin/python" -m pip install -q --no-deps -e .
done
