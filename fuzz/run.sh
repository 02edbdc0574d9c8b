#!/bin/sh
# Run libFuzzer targets built by `make fuzz`, one after the other.
#
#     sh fuzz/run.sh SECONDS NAME...
#
# build/fuzz/lf/fuzz_NAME runs for SECONDS (-max_total_time) over
# build/fuzz/corpus/NAME (new inputs are saved there), fuzz/corpus/NAME and
# fuzz/regressions/NAME, with fuzz/NAME.dict if there is one.  A crasher is
# saved in build/fuzz/crashes/NAME/ and the log in build/fuzz/NAME.log.
# Prints executions per target; exits 1 if any target found a bug.
seconds=$1
shift
# fuzz_index writes an index per input: keep it in memory when we can.
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
	TMPDIR=/dev/shm
	export TMPDIR
fi
out=build/fuzz
status=0
for name in "$@"; do
	mkdir -p "$out/corpus/$name" "$out/crashes/$name"
	dict=
	[ -f "fuzz/$name.dict" ] && dict="-dict=fuzz/$name.dict"
	log="$out/$name.log"
	echo "fuzz $name: ${seconds}s, log in $log"
	"$out/lf/fuzz_$name" -max_total_time="$seconds" -timeout=10 \
		-print_final_stats=1 -artifact_prefix="$out/crashes/$name/" \
		$dict "$out/corpus/$name" "fuzz/corpus/$name" \
		"fuzz/regressions/$name" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	if [ "$rc" -eq 0 ]; then
		echo "fuzz $name: ${runs:-?} executions (${rate:-?}/s), no crash"
	else
		status=1
		echo "fuzz $name: ${runs:-?} executions, FAILED (exit $rc):"
		grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$log" | head -n 3
		grep -E 'Test unit written to' "$log"
	fi
done
exit $status
