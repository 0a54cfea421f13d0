#!/usr/bin/env bash
# `make run`: start the desktop app, after making sure Qt's X11 platform plugin can load.
# Qt's "xcb" plugin needs these Debian/Ubuntu libraries; without them it says it could not load "xcb".
set -euo pipefail
BIN=${1:-.venv/bin}
NEEDED="libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxcb-image0 libxcb-render-util0 libxcb-shape0 libxcb-xkb1 libxkbcommon-x11-0"

missing=""
if command -v dpkg-query >/dev/null 2>&1; then
  for package in $NEEDED; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing="$missing $package"
  done
fi
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing the X11 libraries Qt needs:$missing"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
  else
    echo "Qt needs these libraries to open a window:$missing"
    echo "Install them with:  sudo apt-get install -y$missing"
    exit 1
  fi
fi

if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ] && [ "${QT_QPA_PLATFORM:-}" != offscreen ]; then
  echo "No display here (DISPLAY is not set). Run it in a virtual X server:"
  echo "  sudo apt-get install -y xvfb && xvfb-run -a make run"
  echo "or make a picture of a view:  $BIN/gkn app --preset 1d --view 1d --screenshot 1d.png"
  exit 1
fi
exec "$BIN/gkn" app
