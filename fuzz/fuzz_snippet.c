/*
 * fuzz_snippet.c -- fuzz target: snippets of any text for any query.
 *
 *     Input := <Flags: u8> <Width: u8> Query '\0' Text
 *     Flags := bit 0: the index is stemmed (english);
 *              bit 1: the query is free text (lode_query_parse_text);
 *              bit 2: the text is the first bytes of a longer document
 *                     (full > len, as lode_snippet_make passes for a
 *                     document over LODE_SNIPPET_SCAN bytes)
 *     Width := the snippet's width in bytes, 4 * Width
 *
 * A query that does not parse is skipped.  The snippet must be one line of
 * valid UTF-8 (invalid input bytes become U+FFFD), NUL-terminated, without
 * control characters, its spans nonempty, in order, apart, inside the text
 * and on character boundaries; of valid text without U+FFFD, it must hold
 * none (a character cut in two).  A broken promise aborts.
 */
#include <stdbool.h>
#include <string.h>
#include <utf8proc.h>

#include "fuzz.h"
#include "lode.h"
#include "snippet.h"

const char fuzz_target_name[] = "snippet";

/* Whether byte offset at of s is where a character starts (or the end). */
static bool at_boundary(const lode_snippet *s, size_t at)
{
	return at == s->len || ((unsigned char)s->text[at] & 0xc0) != 0x80;
}

/* Whether text[0, len) is valid UTF-8 without U+FFFD. */
static bool clean_utf8(const char *text, size_t len)
{
	for (size_t i = 0; i < len;) {
		utf8proc_int32_t cp;
		utf8proc_ssize_t n = utf8proc_iterate(
		        (const utf8proc_uint8_t *)text + i,
		        (utf8proc_ssize_t)(len - i), &cp);
		if (n < 1 || cp == 0xfffd)
			return false;
		i += (size_t)n;
	}
	return true;
}

static void check_snippet(const lode_snippet *s, bool clean)
{
	FUZZ_CHECK(s->text && s->text[s->len] == '\0');
	for (size_t i = 0; i < s->len;) {
		utf8proc_int32_t cp;
		utf8proc_ssize_t n = utf8proc_iterate(
		        (const utf8proc_uint8_t *)s->text + i,
		        (utf8proc_ssize_t)(s->len - i), &cp);
		FUZZ_CHECK(n >= 1 && cp >= 0x20 && cp != 0x7f);
		FUZZ_CHECK(!clean || cp != 0xfffd);
		i += (size_t)n;
	}
	for (size_t k = 0; k < s->nspans; k++) {
		const lode_span *sp = &s->spans[k];
		FUZZ_CHECK(sp->start < sp->end && sp->end <= s->len);
		FUZZ_CHECK(k == 0 || sp->start >= s->spans[k - 1].end);
		FUZZ_CHECK(at_boundary(s, sp->start) && at_boundary(s, sp->end));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *query_text = (const char *)data + 2, *text, *nul;
	lode_query *query = NULL;
	lode_snippet snip;
	lode_error err;
	uint64_t full;
	size_t width, qlen, len;
	uint8_t flags;
	int rc;

	if (size < 2)
		return 0;
	flags = data[0];
	width = 4 * (size_t)data[1];
	nul = memchr(query_text, '\0', size - 2);
	if (!nul)
		return 0;
	qlen = (size_t)(nul - query_text);
	text = nul + 1;
	len = size - 2 - qlen - 1;
	full = flags & 4 ? (uint64_t)len + 1000 : len;
	rc = flags & 2 ? lode_query_parse_text(query_text, qlen, &query, &err)
	               : lode_query_parse(query_text, qlen, &query, &err);
	if (rc != LODE_OK)
		return 0;
	rc = lode_snippet_of_text(flags & 1 ? "english" : "", query, text, len,
	                          full, width, &snip, &err);
	FUZZ_CHECK(rc == LODE_OK);
	/* A longer document's last 4 bytes here may end inside a character;
	 * its first len - 4 bytes must be clean. */
	check_snippet(&snip, clean_utf8(text, flags & 4 && len >= 4 ? len - 4
	                                                            : len));
	lode_snippet_release(&snip);
	lode_query_free(query);
	return 0;
}
