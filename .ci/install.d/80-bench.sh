# tests/test_bench.py runs bench/bench.py --quick end to end.
# GNU time gives the benchmark's peak-memory column (`/usr/bin/time -f %M`).
apt_install time
# The benchmark builds clean venvs (credproc and its peers from PyPI); Debian's own python3 needs
# python3-venv for that (ensurepip).
if ! python3 -c "import ensurepip" 2>/dev/null; then
  apt_install python3-venv
fi
