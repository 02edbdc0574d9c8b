#!/bin/sh
# Run each test executable given as an argument; print one summary line.
# The end-to-end tests find the binary under test in $LODE_BIN.  With
# VALGRIND set, each test runs under valgrind (memory errors and definite
# leaks fail it).
passed=0
failed=0
for t in "$@"; do
	if ${VALGRIND:+valgrind --quiet --error-exitcode=99 --leak-check=full \
	    --errors-for-leak-kinds=definite} "$t"; then
		passed=$((passed + 1))
	else
		echo "FAILED: $t" >&2
		failed=$((failed + 1))
	fi
done
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
