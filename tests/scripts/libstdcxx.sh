#!/usr/bin/env bash
# Makes TorchSharp's native library (libLibTorchSharp.so) loadable on Debian 12: it needs GLIBCXX_3.4.32
# (GCC 13's libstdc++), and Debian 12 stops at 3.4.30. Adds Debian 13 (trixie) as a second apt source, pinned
# at priority 100 so no other package moves to it, and installs trixie's libstdc++6 (which pulls glibc 2.41).
# Idempotent: does nothing when the installed libstdc++ already has the version. See docs/model-backends.md.
set -euo pipefail

libstdcxx_has_glibcxx_3_4_32() {
    local lib
    for lib in /usr/lib/x86_64-linux-gnu/libstdc++.so.6 /usr/lib64/libstdc++.so.6 /usr/lib/libstdc++.so.6; do
        if [ -e "$lib" ] && grep -qa 'GLIBCXX_3\.4\.32' "$lib"; then
            return 0
        fi
    done
    return 1
}

if libstdcxx_has_glibcxx_3_4_32; then
    exit 0
fi

if [ "$(id -u)" != 0 ]; then
    echo "libstdcxx.sh: libstdc++ lacks GLIBCXX_3.4.32 and installing it needs root" >&2
    exit 1
fi

. /etc/os-release
if [ "${ID:-}" != debian ]; then
    echo "libstdcxx.sh: libstdc++ lacks GLIBCXX_3.4.32; on ${ID:-this system} install libstdc++ from GCC 13 or newer" >&2
    exit 1
fi

echo "libstdcxx.sh: installing libstdc++6 from Debian 13 (trixie) for TorchSharp's GLIBCXX_3.4.32" >&2
cat > /etc/apt/sources.list.d/trixie.sources <<'SOURCES'
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
# Below the default 500: apt takes nothing from trixie unless asked with -t trixie (or a dependency of that needs it).
cat > /etc/apt/preferences.d/trixie-low <<'PIN'
Package: *
Pin: release n=trixie
Pin-Priority: 100
PIN
apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t trixie libstdc++6 >/dev/null
libstdcxx_has_glibcxx_3_4_32
