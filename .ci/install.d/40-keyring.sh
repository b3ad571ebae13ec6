# The keyring end-to-end test needs a real Secret Service: gnome-keyring-daemon on a private
# D-Bus session (dbus-run-session), which the test starts and unlocks itself. libsecret-tools
# gives `secret-tool` for looking into the keyring by hand when a run fails.
apt_install gnome-keyring dbus libsecret-tools
