/*
 * fuzz.h -- the fuzz targets' entry point, shared by libFuzzer and replay.
 *
 * Each fuzz/fuzz_<name>.c defines LLVMFuzzerTestOneInput(), which must
 * return 0 for any bytes and never crash, hang, leak or trip a sanitizer;
 * a broken invariant calls abort().  Two ways to link a target:
 *
 *  - with libFuzzer (`make fuzz`): clang -fsanitize=fuzzer,address,undefined
 *    into build/fuzz/lf/fuzz_<name>, run for FUZZ_SECONDS; crashers are
 *    written to build/fuzz/crashes/<name>/.
 *  - with fuzz/replay.c (`make test`): a plain main() that feeds each file
 *    named on the command line, or each file of a directory named there, to
 *    the target.  With no arguments it replays fuzz/corpus/<name>/ and
 *    fuzz/regressions/<name>/ (relative to the repository root), so every
 *    crasher committed to fuzz/regressions/ is a regression test.
 *
 * Reproducing a crasher: build/fuzz/lf/fuzz_<name> FILE (with sanitizers)
 * or $(BUILD)/fuzz/replay_<name> FILE (under gdb).  Once the bug is fixed,
 * commit FILE to fuzz/regressions/<name>/.
 */
#ifndef LODE_FUZZ_FUZZ_H
#define LODE_FUZZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* Abort, which libFuzzer and replay both report as a crash, unless cond. */
#define FUZZ_CHECK(cond)                                                     \
	do {                                                                 \
		if (!(cond))                                                 \
			abort();                                             \
	} while (0)

/* Run the target on data[0, size); always returns 0. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The target's <name>: which fuzz/corpus/ and fuzz/regressions/ folders
 * replay reads by default. */
extern const char fuzz_target_name[];

#endif
