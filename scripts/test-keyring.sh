#!/usr/bin/env bash
# Source inside a D-Bus session: starts one gnome-keyring-daemon (secrets only) in the
# foreground, as a child of this shell, with a throwaway login keyring under $XDG_DATA_HOME
# unlocked with $1, and waits until that daemon owns org.freedesktop.secrets and its login
# collection reads unlocked. Fails loudly otherwise.
#
# Why not `--unlock` then `--start`: the daemonized --unlock writes login.keyring before it
# owns its bus names, so a --start (or any client) that asks D-Bus for the keyring too early
# makes dbus-daemon *activate* a second daemon with the bus's own environment (no
# XDG_DATA_HOME, no password), which then serves the Secret Service with no login collection:
# "Object does not exist at path /org/freedesktop/secrets/collection/login".
# The waits below use NameHasOwner, which never activates anything.
tp_keyring_start() {
  local password="$1" pid i owner locked
  : "${XDG_DATA_HOME:?set XDG_DATA_HOME to a throwaway folder first}"
  mkdir -p "$XDG_DATA_HOME"
  # Any daemon D-Bus activates after this point sees the same throwaway folder.
  dbus-update-activation-environment XDG_DATA_HOME >/dev/null 2>&1 || true
  printf '%s' "$password" | gnome-keyring-daemon --foreground --unlock --components=secrets >/dev/null 2>&1 &
  pid=$!
  for i in $(seq 300); do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "gnome-keyring-daemon exited while starting (install gnome-keyring and dbus)" >&2
      return 1
    fi
    owner="$(gdbus call --session --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus \
      --method org.freedesktop.DBus.NameHasOwner org.freedesktop.secrets 2>/dev/null || true)"
    if [ "$owner" = "(true,)" ]; then
      locked="$(gdbus call --session --dest org.freedesktop.secrets \
        --object-path /org/freedesktop/secrets/collection/login \
        --method org.freedesktop.DBus.Properties.Get org.freedesktop.Secret.Collection Locked 2>&1 || true)"
      [ "$locked" = "(<false>,)" ] && return 0
    fi
    sleep 0.2
  done
  echo "the test keyring did not come up within 60 s: org.freedesktop.secrets owned: ${owner:-?}; login collection: ${locked:-not reached}" >&2
  return 1
}
