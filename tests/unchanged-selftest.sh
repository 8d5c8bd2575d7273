#!/usr/bin/env bash
# Host self-test of the object comparison behind cross-build/check-unchanged.sh: tiny C
# pairs, compiled with the host gcc, that differ in one thing the kernel check must see
# (or in nothing), compared with `check-unchanged.sh --compare`. Prints TAP; seconds.
set -uo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
COMPARE=("$TOP/cross-build/check-unchanged.sh" --compare)
unset CROSS_COMPILE
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# shellcheck source=tests/tap.sh
. "$TOP/tests/tap.sh"

# Every case is a pair of sources, old/<case>.c and new/<case>.c; both sides are
# compiled at once (-O2, like the kernel), then each pair of objects is compared (the
# kernel check, too, compares objects of the same name from two build dirs).
CASES=()
pair() {	# pair NAME OLD_SOURCE NEW_SOURCE
	mkdir -p "$WORK/old" "$WORK/new"
	printf '%s\n' "$2" > "$WORK/old/$1.c"
	printf '%s\n' "$3" > "$WORK/new/$1.c"
}
differs() {	# differs NAME WHAT OLD NEW EXPECT: a difference (exit 1), EXPECT among the added lines
	pair "$1" "$3" "$4"
	CASES+=("differs|$1|$2|$5")
}
same() {	# same NAME WHAT OLD NEW: no difference (exit 0)
	pair "$1" "$3" "$4"
	CASES+=("same|$1|$2|")
}

run_cases() {
	local c kind name what expect out status
	for side in old new; do
		if ! out=$(cd "$WORK/$side" && gcc -O2 -c ./*.c 2>&1); then
			tap 1 "the $side sources compile" "$out"
			return
		fi
	done
	for c in "${CASES[@]}"; do
		IFS='|' read -r kind name what expect <<<"$c"
		out=$("${COMPARE[@]}" "$WORK/old/$name.o" "$WORK/new/$name.o" 2>&1)
		status=$?
		if [ "$kind" = same ]; then
			tap "$status" "reports no difference: $what" "$out"
		elif [ "$status" != 1 ]; then
			tap 1 "reports a difference: $what" "exit status $status (want 1); $out"
		elif ! grep -q '^+.*'"$expect" <<<"$out"; then
			tap 1 "reports a difference: $what" "no added line mentions $expect: $out"
		else
			tap 0 "reports a difference: $what"
		fi
	done
}

if ! command -v gcc >/dev/null || ! command -v objdump >/dev/null; then
	echo "not ok 1 - host gcc and objdump are installed"
	echo "1..1"
	exit 1
fi

same identical "identical sources" \
	'extern int g; void foo(int); int x = 3; const char *s(void) { return "hello"; }
	 void f(void) { foo(g + x); }' \
	'extern int g; void foo(int); int x = 3; const char *s(void) { return "hello"; }
	 void f(void) { foo(g + x); }'

differs callee "only the callee changed (call foo -> call bar)" \
	'void foo(void); void bar(void); void f(void) { foo(); }' \
	'void foo(void); void bar(void); void f(void) { bar(); }' 'bar'

differs global "only the referenced global changed" \
	'extern int a, b; int f(void) { return a; }' \
	'extern int a, b; int f(void) { return b; }' '[[:space:]]b'

differs value "only an initialized data value changed" \
	'int x = 1; int *f(void) { return &x; }' \
	'int x = 2; int *f(void) { return &x; }' '02000000'

differs string "only a .rodata string changed" \
	'const char *f(void) { return "hello"; }' \
	'const char *f(void) { return "hellp"; }' 'hellp'

differs bss "only a .bss size changed" \
	'int buf[16]; int *f(void) { return buf; }' \
	'int buf[32]; int *f(void) { return buf; }' '\.bss'

differs pointer "only a function pointer in .data changed" \
	'void foo(void); void bar(void); void (*p)(void) = foo;' \
	'void foo(void); void bar(void); void (*p)(void) = bar;' 'bar'

# An initcall's pointer is named after its source line (include/linux/init.h): a hunk
# above it moves the line, and nothing else.
initcall() {	# initcall LINE FUNCTION
	printf 'static int fn(void) { return 0; }
static int fn2(void) { return 1; }
static int (*__initcall__kmod_x__7_%s_%s6)(void) __attribute__((used, section(".initcall6.init"))) = %s;\n' \
		"$1" "$2" "$2"
}
same initcall-line "an initcall defined a few lines lower" "$(initcall 12 fn)" "$(initcall 16 fn)"
differs initcall-fn "an initcall of another function" "$(initcall 12 fn)" "$(initcall 12 fn2)" 'fn2'
run_cases

out=$("${COMPARE[@]}" "$WORK/old/identical.o" "$WORK/missing.o" 2>&1)
status=$?
[ "$status" != 0 ] && [ "$status" != 1 ]
tap $? "a missing object is an error, not a pass or a difference" "exit status $status: $out"

tap_done
