# The benchmark's peak-memory column comes from GNU time (`/usr/bin/time -f %M`): tests/test_bench.py.
apt_install time
