/* error.c -- error codes and messages. */
#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *lode_strerror(int code)
{
	switch (code) {
	case LODE_OK: return "success";
	case LODE_ENOMEM: return "out of memory";
	case LODE_EIO: return "input/output error";
	case LODE_ECORRUPT: return "index is corrupt";
	case LODE_EVERSION: return "index has another format version";
	case LODE_EQUERY: return "query error";
	case LODE_ELIMIT: return "limit exceeded";
	case LODE_ENOTFOUND: return "no index found";
	case LODE_EINVAL: return "invalid argument";
	case LODE_EBUSY: return "index is locked by another writer";
	case LODE_ESTALE: return "file changed since it was indexed";
	default: return "unknown error";
	}
}

char *lode_one_line(char *message)
{
	unsigned char *in = (unsigned char *)message, *out = in;

	/* In place: each replacement is no longer than what it replaces. */
	while (*in) {
		size_t n = 0;
		if (*in < 0x20 || *in == 0x7f)
			n = 1;
		else if (in[0] == 0xc2 && in[1] >= 0x80 && in[1] <= 0x9f)
			n = 2; /* C1: U+0080-U+009F, NEL among them */
		else if (in[0] == 0xe2 && in[1] == 0x80 &&
		         (in[2] == 0xa8 || in[2] == 0xa9))
			n = 3; /* U+2028 LINE and U+2029 PARAGRAPH SEPARATOR */
		if (n) {
			*out++ = '?';
			in += n;
		} else {
			*out++ = *in++;
		}
	}
	*out = '\0';
	return message;
}

void lode_error_clear(lode_error *err)
{
	if (err) {
		err->code = LODE_OK;
		err->message[0] = '\0';
	}
}

int lode_fail(lode_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		err->code = code;
		va_start(ap, fmt);
		vsnprintf(err->message, sizeof(err->message), fmt, ap);
		va_end(ap);
		lode_one_line(err->message);
	}
	return code;
}

int lode_fail_errno(lode_error *err, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	size_t used;

	if (err) {
		err->code = LODE_EIO;
		va_start(ap, fmt);
		vsnprintf(err->message, sizeof(err->message), fmt, ap);
		va_end(ap);
		used = strlen(err->message);
		snprintf(err->message + used, sizeof(err->message) - used,
		         ": %s", strerror(saved));
		lode_one_line(err->message);
	}
	return LODE_EIO;
}
