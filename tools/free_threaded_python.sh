#!/usr/bin/env bash
# Find a free-threaded CPython (3.13t or 3.14t), or build CPython 3.13 with --disable-gil from
# Debian's source package, and print the interpreter's path as the LAST line of stdout.
#
#   tools/free_threaded_python.sh              find one; build it (about 5-10 min on 2 cores) if none
#   tools/free_threaded_python.sh --find-only  find one; exit 1 (printing nothing on stdout) if none
#
# Where it looks, in order:
#   1. $PYTHON_FT (must be a free-threaded build, or this fails);
#   2. python3.13t, python3.14t on PATH;
#   3. a build cached by an earlier run: $COURSE_CACHE/python3.13t/bin/python3.13t
#      (COURSE_CACHE defaults to ~/.cache/parallel-course: outside the clone, so CI runs and
#      fresh clones on the same machine reuse it).
# The build (root, Debian/Ubuntu): adds a deb-src entry for suite trixie with the same URIs and
# Signed-By as the machine's own Debian sources (in a separate file, course-trixie-src.sources),
# fetches `apt-get source --download-only python3.13/trixie`, and builds the upstream tarball
# with ./configure --disable-gil. It also installs libzmq3-dev, which pyzmq needs to build from
# source for the free-threaded venv (pyzmq has no free-threaded wheel). Any failure is fatal.
set -euo pipefail

CACHE_ROOT="${COURSE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/parallel-course}"
PREFIX="$CACHE_ROOT/python3.13t"
SRC_LIST=/etc/apt/sources.list.d/course-trixie-src.sources
FIND_ONLY=0
case "${1:-}" in
    --find-only) FIND_ONLY=1 ;;
    "") ;;
    *) echo "usage: $0 [--find-only]" >&2; exit 2 ;;
esac

log() { echo "free_threaded_python: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# True when $1 runs and is a free-threaded build (Py_GIL_DISABLED), whatever PYTHON_GIL says.
is_free_threaded() {
    "$1" -c 'import sys, sysconfig; sys.exit(not sysconfig.get_config_var("Py_GIL_DISABLED"))' \
        >/dev/null 2>&1
}

found() {
    local py
    py="$(command -v "$1")"
    log "using $py ($("$py" -c 'import sys; print(sys.version.split()[0])') free-threaded)"
    echo "$py"
    exit 0
}

# 1. An interpreter chosen by the caller must be a free-threaded one.
if [ -n "${PYTHON_FT:-}" ]; then
    is_free_threaded "$PYTHON_FT" || die "PYTHON_FT=$PYTHON_FT is not a free-threaded Python (sysconfig Py_GIL_DISABLED is not set)"
    found "$PYTHON_FT"
fi
# 2. One on PATH (python.org installers, uv, distribution packages).
for candidate in python3.13t python3.14t; do
    if command -v "$candidate" >/dev/null 2>&1 && is_free_threaded "$candidate"; then
        found "$candidate"
    fi
done
# 3. A finished build cached by an earlier run (.complete is written only after make install).
if [ -f "$PREFIX/.complete" ] && is_free_threaded "$PREFIX/bin/python3.13t"; then
    found "$PREFIX/bin/python3.13t"
fi

if [ "$FIND_ONLY" = 1 ]; then
    log "no free-threaded Python found (PYTHON_FT, python3.13t/python3.14t on PATH, or $PREFIX)"
    exit 1
fi

# 4. Build one from Debian's source package.
[ "$(id -u)" = 0 ] || die "no free-threaded Python found, and building one needs root (apt-get); install python3.13t yourself (see README) or set PYTHON_FT"
command -v apt-get >/dev/null || die "no free-threaded Python found, and building one needs apt-get (Debian/Ubuntu); install python3.13t yourself (see README) or set PYTHON_FT"
mkdir -p "$CACHE_ROOT"
exec 9>"$CACHE_ROOT/.build.lock"
flock 9 # another run building at the same time: wait for it, then reuse its result
if [ -f "$PREFIX/.complete" ] && is_free_threaded "$PREFIX/bin/python3.13t"; then
    found "$PREFIX/bin/python3.13t"
fi
export DEBIAN_FRONTEND=noninteractive
START=$SECONDS

# The machine's own Debian mirror and key, read from its apt sources (never written down here).
mirror_and_key() {
    local f=/etc/apt/sources.list.d/debian.sources
    if [ -f "$f" ]; then
        # deb822: the first stanza with a plain release suite (not -security / -updates).
        awk '
            /^[[:space:]]*$/ { if (uris != "" && plain) { print uris "\t" key; exit } uris = ""; key = ""; plain = 0; next }
            /^URIs:/ { uris = $2 }
            /^Signed-By:/ { key = $2 }
            /^Suites:/ { for (i = 2; i <= NF; i++) if ($i !~ /-/) plain = 1 }
            END { if (uris != "" && plain) print uris "\t" key }
        ' "$f" | head -n 1
    elif [ -f /etc/apt/sources.list ]; then
        # one-line format: deb [signed-by=KEY] URI SUITE COMPONENTS
        awk '$1 == "deb" {
                key = ""; i = 2
                if ($2 ~ /^\[/) { while ($i !~ /\]$/) { if ($i ~ /signed-by=/) key = $i; i++ }
                                  if ($i ~ /signed-by=/) key = $i; i++ }
                gsub(/.*signed-by=|\]/, "", key)
                if ($(i + 1) !~ /-/) { print $i "\t" key; exit }
             }' /etc/apt/sources.list
    fi
}
if [ ! -f "$SRC_LIST" ]; then
    IFS=$'\t' read -r uris key < <(mirror_and_key) || true
    [ -n "${uris:-}" ] || die "could not read the Debian mirror from /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list"
    [ -n "${key:-}" ] || key=/usr/share/keyrings/debian-archive-keyring.gpg
    log "adding $SRC_LIST (deb-src, suite trixie, the machine's own mirror)"
    printf 'Types: deb-src\nURIs: %s\nSuites: trixie\nComponents: main\nSigned-By: %s\n' \
        "$uris" "$key" >"$SRC_LIST"
fi

# Build tools and the -dev libraries CPython's optional modules need (ssl, ctypes, sqlite3 for
# IPython's history, lzma, bz2, zlib, readline, uuid), and libzmq for pyzmq's source build.
needed=()
for pkg in gcc make pkg-config xz-utils libssl-dev libffi-dev zlib1g-dev libbz2-dev liblzma-dev \
    libsqlite3-dev libreadline-dev libncurses-dev uuid-dev libzmq3-dev; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || needed+=("$pkg")
done
log "apt-get update"
apt-get update -qq >&2 || die "apt-get update failed"
if [ ${#needed[@]} -gt 0 ]; then
    log "installing build dependencies: ${needed[*]}"
    apt-get install -y -qq "${needed[@]}" >&2 || die "apt-get install ${needed[*]} failed"
fi

SRC_DIR="$CACHE_ROOT/src"
mkdir -p "$SRC_DIR"
if ! ls "$SRC_DIR"/python3.13_*.orig.tar.xz >/dev/null 2>&1; then
    log "apt-get source --download-only python3.13/trixie"
    (cd "$SRC_DIR" && apt-get source --download-only python3.13/trixie >&2) \
        || die "apt-get source python3.13/trixie failed (is the trixie deb-src entry in $SRC_LIST served?)"
fi
tarball="$(ls "$SRC_DIR"/python3.13_*.orig.tar.xz | sort -V | tail -n 1)"

BUILD_DIR="$CACHE_ROOT/build"
LOG="$CACHE_ROOT/build.log"
rm -rf "$BUILD_DIR" "$PREFIX"
mkdir -p "$BUILD_DIR"
tar -xJf "$tarball" -C "$BUILD_DIR" --strip-components=1
log "building $(basename "$tarball") with --disable-gil into $PREFIX (log: $LOG)"
build() {
    cd "$BUILD_DIR"
    nice -n 19 ./configure --disable-gil --prefix="$PREFIX" --with-ensurepip=install
    nice -n 19 make -j"$(nproc)"
    nice -n 19 make install
}
if ! (build) >"$LOG" 2>&1; then
    tail -n 40 "$LOG" >&2
    rm -rf "$PREFIX"
    die "the build failed; the last lines are above, the whole log is $LOG"
fi
is_free_threaded "$PREFIX/bin/python3.13t" || die "$PREFIX/bin/python3.13t was built but is not free-threaded"
"$PREFIX/bin/python3.13t" -c 'import ssl, ctypes, sqlite3, lzma, bz2, zlib, readline, uuid' \
    || die "the build lacks a module the course needs (see $LOG)"
touch "$PREFIX/.complete"
rm -rf "$BUILD_DIR"
log "built in $((SECONDS - START)) s"
found "$PREFIX/bin/python3.13t"
