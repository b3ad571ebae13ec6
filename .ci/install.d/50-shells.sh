# Real shells for the shell integration and completion tests (tests/test_shell*.py,
# tests/test_completion*.py): bash runs the bash files, zsh and fish theirs.
apt_install bash zsh fish
