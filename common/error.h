/*
 * error.h -- filling a lode_error.
 *
 * Every failing path in the library returns a negative LODE_E* code and, when
 * the caller passed a lode_error, a one-line message saying what failed and
 * where (control characters in the paths or queries it names become '?').
 * lode_fail() does both in one statement:
 *
 *     return lode_fail(err, LODE_ECORRUPT, "%s: bad magic", path);
 */
#ifndef LODE_COMMON_ERROR_H
#define LODE_COMMON_ERROR_H

#include "lode.h"

/* Record code and a printf-style message in err (may be NULL); returns code. */
int lode_fail(lode_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like lode_fail with LODE_EIO, appending ": " and strerror(errno). */
int lode_fail_errno(lode_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Make message one line, as lode.h promises of messages and warnings: each
 * control character (a newline or tab in a file name, say; C0, DEL and the
 * UTF-8 C1 ones) and each line or paragraph separator (U+2028, U+2029)
 * becomes '?', as ls shows it.  Bytes of a name that is not UTF-8 are left
 * as they are (0x80-0x9F alone are C1 controls only to a Latin-1
 * terminal).  Returns message. */
char *lode_one_line(char *message);

/* Reset err to LODE_OK with an empty message. */
void lode_error_clear(lode_error *err);

#endif
