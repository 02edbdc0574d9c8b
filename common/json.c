/* json.c -- JSON strings (json.h). */
#include "json.h"

#include <stdlib.h>
#include <utf8proc.h>

void lode_json_string(FILE *f, const char *p, size_t n)
{
	fputc('"', f);
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)p[i];
		utf8proc_int32_t cp;
		utf8proc_ssize_t len = utf8proc_iterate(
			(const utf8proc_uint8_t *)p + i, (utf8proc_ssize_t)(n - i), &cp);
		if (len < 1) {
			/* Overlong, surrogate, out of range or cut short. */
			fputs("\\ufffd", f);
			i++;
			continue;
		}
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fwrite(p + i, 1, (size_t)len, f);
		i += (size_t)len;
	}
	fputc('"', f);
}

void lode_json_number(FILE *f, double v)
{
	char buf[32];

	for (int digits = 15; digits <= 17; digits++) {
		snprintf(buf, sizeof(buf), "%.*g", digits, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	fputs(buf, f);
}
