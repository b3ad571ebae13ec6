# Sourced by .ci/run. The suite also runs on the other interpreters this kind of machine has
# (Python 3.10, 3.12, 3.13 beside the default): one venv each under .ci/work/, made once.
find_python() {
  local v=$1 root
  if command -v "python$v" >/dev/null 2>&1 && "python$v" -c pass 2>/dev/null; then command -v "python$v"; return; fi
  root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
  for p in "$root"/versions/"$v".*/bin/python"$v"; do [ -x "$p" ] && { echo "$p"; return; }; done
  return 1
}
for v in 3.10 3.12 3.13; do
  venv=.ci/work/py$v
  [ -x "$venv/bin/python" ] && continue
  py=$(find_python "$v") || { echo "Python $v is not on this machine" >&2; exit 1; }
  "$py" -m venv "$venv"
  "$venv/bin/python" -m pip install -q -e '.[test]'
done
