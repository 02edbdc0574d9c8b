#!/bin/sh
# The lode binary under valgrind, for `make test-valgrind`: any memory error
# or definite leak makes it exit 99, which the end-to-end tests report.
exec valgrind --quiet --error-exitcode=99 --leak-check=full \
	--errors-for-leak-kinds=definite "$(dirname "$0")/../build/lode" "$@"
