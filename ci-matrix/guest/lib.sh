# shellcheck shell=sh
# Reporting for matrix guests: the host runner reads these lines from the serial log.
#   crashkey-step: <text>            progress, shown on the host terminal
#   crashkey-check: ok <name>        one passed check
#   crashkey-check: FAIL <name><TAB><why>
#                                    one failed check
#   crashkey-stage: <stage>          the checks that follow are the stage's
#   crashkey-stage-done: <stage>     the stage ran to its end (a stage that crashes the
#                                    kernel says so before the crash)
#   crashkey-request: memory-hot-add the runner plugs a DIMM into this guest
# Which checks each stage must report is not the guest's to say: the runner compares
# them with the arch's expected checks (ci-matrix/expected/).

# The kernel's configfs items of crashkey, and its test-only probe and knobs (for the
# scenarios).
# shellcheck disable=SC2034
KEYS=/sys/kernel/config/crash_key_handover
DEBUG=/sys/kernel/debug/crash_dm_crypt	# CONFIG_CRASH_KEY_HANDOVER_TEST_PROBE

step() { echo "crashkey-step: $*"; }
pass() { echo "crashkey-check: ok $1"; }
fail() { printf 'crashkey-check: FAIL %s\t%s\n' "$1" "$2"; }
begin() { echo "crashkey-stage: $1"; }
stage_done() { echo "crashkey-stage-done: $1"; }
request() { echo "crashkey-request: $1"; }

# The runner gives each disk its role as its virtio serial (vda, vdb, vdc: the volumes;
# mailbox). Kernel names follow probe order, which on s390x's channel subsystem is not
# the order of QEMU's -device options and changes from boot to boot: the scenario names
# disks by role only, /dev/role/<role>. Waits up to 60 s for the four disks.
link_disk_roles() {
	mkdir -p /dev/role
	_i=0
	until all_disk_roles_linked || [ "$_i" -ge 60 ]; do
		[ "$_i" = 0 ] || sleep 1
		for _serial in /sys/block/vd*/serial; do
			[ -e "$_serial" ] || continue
			_dev=${_serial%/serial}
			ln -sfn "/dev/${_dev##*/}" "/dev/role/$(cat "$_serial")"
		done
		_i=$((_i + 1))
	done
}

all_disk_roles_linked() {
	for _role in vda vdb vdc mailbox; do
		[ -b "/dev/role/$_role" ] || return 1
	done
}

# The runner's answer to a request, from the first sector of the mailbox disk:
# the first line that starts with WORD, waited for up to TIMEOUT seconds.
await_answer() {	# await_answer WORD TIMEOUT
	_i=0
	while [ "$_i" -lt "$2" ]; do
		blockdev --flushbufs /dev/role/mailbox 2>/dev/null
		_answer=$(dd if=/dev/role/mailbox bs=512 count=1 2>/dev/null | tr -d '\0' |
			grep "^$1 ")
		if [ -n "$_answer" ]; then
			echo "$_answer"
			return
		fi
		sleep 1
		_i=$((_i + 1))
	done
	echo "$1 error no answer from the runner in $2 s"
}

# drain_console: before the kernel goes away (crash, kexec -e, reboot). What userspace
# writes to the console waits in the tty's buffer until the UART sends it, and a panic
# drops what has not gone out yet: arm64 lost a stage's last two lines that way. stty
# setting the console's own settings again is tcsetattr(TCSADRAIN), which returns only
# when everything written before it has been sent.
drain_console() {
	stty -F /dev/console "$(stty -F /dev/console -g)" ||
		echo "crashkey-step: could not drain the console; its last lines may be lost"
}

# check NAME COMMAND...: passes when COMMAND succeeds.
check() {
	_name=$1
	shift
	if _out=$("$@" 2>&1); then
		pass "$_name"
	else
		fail "$_name" "$(echo "$_out" | tail -n 3 | tr '\n' ' ')"
	fi
}

# check_fails NAME MESSAGE COMMAND...: passes when COMMAND fails saying MESSAGE (never
# empty: any failure at all is not what a check observes).
check_fails() {
	_name=$1
	_want=$2
	shift 2
	if [ -z "$_want" ]; then
		fail "$_name" "check_fails without the message it expects"
		return
	fi
	if _out=$("$@" 2>&1); then
		fail "$_name" "succeeded, expected: $_want"
		return
	fi
	case "$_out" in
	*"$_want"*) pass "$_name" ;;
	*) fail "$_name" "expected '$_want', got: $(echo "$_out" | tail -n 2 | tr '\n' ' ')" ;;
	esac
}

# check_absent NAME TEXTS COMMAND...: passes when COMMAND succeeds and its output, which
# it must print, holds none of TEXTS (one per line). Not "! grep": a command that failed
# to look would pass that.
check_absent() {
	_name=$1
	_texts=$2
	shift 2
	if ! _out=$("$@" 2>&1); then
		fail "$_name" "could not look: $(echo "$_out" | tail -n 2 | tr '\n' ' ')"
	elif [ -z "$_out" ]; then
		fail "$_name" "$* printed nothing to look in"
	elif _found=$(echo "$_out" | grep -F -e "$_texts"); then
		fail "$_name" "found: $(echo "$_found" | head -n 2 | tr '\n' ' ')"
	else
		pass "$_name"
	fi
}

# check_eq NAME EXPECTED ACTUAL
check_eq() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "expected '$2', got '$3'"; fi
}

# write FILE TEXT: echo, not printf, because busybox's echo reports write errors.
write() { echo "$2" > "$1"; }
