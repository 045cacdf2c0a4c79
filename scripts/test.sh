#!/usr/bin/env bash
# Runs every test of the project:
#   1. formatting (clang-format) of every C file,
#   2. a -Werror build with ASan+UBSan and all meson tests (unit, stress),
#   3. the threaded stress tests again under TSan,
#   4. each libFuzzer target for a short time (clang),
#   5. the filesystem tests (pytest: mounts, kernel overlayfs oracle,
#      real writeback errors), against the ASan+UBSan daemon; then the
#      POSIX, volatile and file differential tests once more with
#      passthrough=0 (the writeback cache, which errovl uses where FUSE
#      passthrough is not available), and the xattr and attribute tests
#      with the system calls of Linux 6.6/6.13 failing (fallbacks), and
#      the filesystem, POSIX and volatile tests with FUSE over io_uring.
# Tests that need root or /dev/fuse skip with a reason. The last line is the
# summary: "total: N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
out=${ERROVL_TEST_OUT:-$top/build-test-results}
rm -rf "$out" && mkdir -p "$out"

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:halt_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
export CMOCKA_MESSAGE_OUTPUT=TAP

step_failures=0
note() { printf '\n==> %s\n' "$*"; }
fail_step() {
	echo "FAILED: $*"
	echo "$*" >>"$out/failed-steps"
	step_failures=$((step_failures + 1))
}

note "dependencies"
scripts/deps.sh || fail_step "dependencies"

# setup DIR ARGS...: configure a build dir anew when its options changed.
setup() {
	local dir=$1
	shift
	if [ -f "$dir/.setup-args" ] && [ "$(cat "$dir/.setup-args")" = "$*" ]; then
		meson setup --reconfigure "$dir" "$@" >"$out/setup-${dir##*/}.log" 2>&1
	else
		rm -rf "$dir"
		meson setup "$dir" "$@" >"$out/setup-${dir##*/}.log" 2>&1
	fi || { cat "$out/setup-${dir##*/}.log"; return 1; }
	echo "$*" >"$dir/.setup-args"
}

note "clang-format"
bad=$(git ls-files '*.c' '*.h' | while read -r f; do
	clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || echo "$f"
done)
if [ -n "$bad" ]; then
	fail_step "clang-format: $(echo $bad)"
else
	echo "clang-format: clean"
fi

note "build + unit and stress tests (ASan+UBSan, -Werror)"
if setup build-asan -Dwerror=true -Db_sanitize=address,undefined \
	-Db_lundef=false -Dfuzz=disabled && meson compile -C build-asan >"$out/compile-asan.log" 2>&1; then
	meson test -C build-asan --no-suite fuzz --no-suite bench-smoke \
		--print-errorlogs --logbase asan || true
	cp build-asan/meson-logs/asan.json "$out/meson-asan.json" 2>/dev/null
else
	tail -50 "$out/compile-asan.log"
	fail_step "ASan build"
fi

note "threaded stress tests (TSan)"
if setup build-tsan -Db_sanitize=thread -Db_lundef=false -Dfuzz=disabled \
	-Ddaemon=disabled && meson compile -C build-tsan >"$out/compile-tsan.log" 2>&1; then
	meson test -C build-tsan --suite stress --print-errorlogs --logbase tsan || true
	cp build-tsan/meson-logs/tsan.json "$out/meson-tsan.json" 2>/dev/null
else
	tail -50 "$out/compile-tsan.log"
	fail_step "TSan build"
fi

note "fuzzers (libFuzzer, short runs)"
if CC=clang setup build-fuzz -Dfuzz=enabled -Db_lundef=false &&
	meson compile -C build-fuzz >"$out/compile-fuzz.log" 2>&1; then
	meson test -C build-fuzz --suite fuzz --print-errorlogs --logbase fuzz || true
	cp build-fuzz/meson-logs/fuzz.json "$out/meson-fuzz.json" 2>/dev/null
else
	tail -50 "$out/compile-fuzz.log"
	fail_step "fuzz build"
fi

# pytest_run NAME ARGS...: one pytest run of build-asan's daemon, its
# results in $out/pytest[-NAME].xml; a crash or usage error (not test
# failures, which the summary counts) fails the step. Exit status 5: no
# tests collected (e.g. a machine without pytest plugins).
pytest_run() {
	local name=$1 rc
	shift
	ERROVL_BUILD=$top/build-asan /usr/bin/python3 -m pytest -q -rs \
		--junitxml="$out/pytest${name:+-$name}.xml" "$@"
	rc=$?
	[ $rc -eq 0 ] || [ $rc -eq 1 ] || [ $rc -eq 5 ] ||
		fail_step "pytest${name:+ ($name)} exited $rc"
}

note "filesystem and CLI tests (pytest)"
if [ -d build-asan ]; then
	pytest_run "" tests
	note "the same without passthrough (writeback cache)"
	ERROVL_TEST_OPTS=passthrough=0 pytest_run writeback tests/posix \
		tests/volatile tests/fs/test_diff_files.py \
		tests/fs/test_passthrough.py
	note "the xattr, opaque, metacopy and attribute tests as on kernels before 6.13"
	# fchmodat2 (452), getxattrat (464), listxattrat (465) fail with
	# ENOSYS: the daemon's /proc/self/fd fallbacks run instead.
	nosys=$top/build-asan/tests/fs/nosys
	if [ ! -x "$nosys" ]; then
		echo "skipped: tests/fs/nosys is not built on this architecture"
	elif ! "$nosys" 452 true 2>"$out/nosys.log"; then
		echo "skipped: no seccomp filter here ($(cat "$out/nosys.log"))"
	else
		ERROVL_TEST_WRAPPER="$nosys 452,464,465" pytest_run oldkernel \
			tests/fs/test_diff_dirs.py tests/fs/test_diff_xattr.py \
			tests/fs/test_diff_redirect.py tests/posix/test_metacopy.py \
			tests/posix/test_meta.py
	fi
	note "the filesystem, POSIX and volatile tests with requests through io_uring"
	# The fuse module's enable_uring (Linux 6.14+) is off by default; it
	# is switched on for this run only.
	param=/sys/module/fuse/parameters/enable_uring
	if [ ! -w "$param" ]; then
		echo "skipped: no writable $param (needs root and CONFIG_FUSE_IO_URING)"
	else
		old_uring=$(cat "$param")
		# Restored also when the run is interrupted.
		trap 'echo "$old_uring" >"$param"' EXIT
		trap 'exit 130' INT TERM
		echo Y >"$param"
		# test_uring.py switches it on itself, in the first run; setup
		# errors come before any request.
		pytest_run uring tests/fs tests/posix tests/volatile \
			--ignore=tests/fs/test_uring.py \
			--ignore=tests/fs/test_setup_errors.py
		echo "$old_uring" >"$param"
		trap - EXIT INT TERM
	fi
fi

note "summary"
/usr/bin/python3 scripts/test_summary.py "$out"
