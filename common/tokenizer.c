/*
 * tokenizer.c -- splitting text into index terms (spec in tokenizer.h).
 *
 * ASCII letters and digits, the bulk of the text lode indexes, go through a
 * table and never reach utf8proc.  Every other byte starts a character that
 * utf8proc decodes and maps (NFKD, marks stripped, case-folded); each code
 * point of the mapping is then classified by its general category.  The
 * mapping is idempotent, so a term tokenizes to itself, which is what lets
 * the same code serve documents and query words.
 */
#include "tokenizer.h"

#include <utf8proc.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* Decompose compatibly, case-fold and strip marks: the whole of the folding. */
#define FOLD_OPTIONS                                                         \
	((utf8proc_option_t)(UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT |          \
	                     UTF8PROC_CASEFOLD | UTF8PROC_STRIPMARK))

/*
 * Room for the mapping of one code point, in code points.  The longest in
 * Unicode 15 is U+FDFA's 18; a longer one would be treated as a separator.
 */
#define MAP_MAX 32

/* Bytes of one UTF-8 character. */
#define UTF8_MAX 4

/* Bytes the ASCII scan stores at once, and the slack after a full term
 * buffer (at least UTF8_MAX, for token_append's encoding). */
#define SCAN_BYTES 16

/* The folded form of an ASCII letter or digit; 0 for every other byte. */
static const unsigned char ascii_fold[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	'0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 0, 0, 0, 0, 0, 0,
	0, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o',
	'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 0, 0, 0, 0, 0,
	0, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o',
	'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 0, 0, 0, 0, 0,
	/* bytes 0x80-0xff are zero: they start or continue non-ASCII text */
};

/* What a code point of a mapping does to the token being built. */
enum char_class {
	CHAR_SEPARATOR, /* ends the token */
	CHAR_TOKEN,     /* is appended to the token */
	CHAR_DELETED,   /* neither joins nor splits */
};

static enum char_class classify(utf8proc_int32_t cp)
{
	switch (utf8proc_category(cp)) {
	case UTF8PROC_CATEGORY_LU:
	case UTF8PROC_CATEGORY_LL:
	case UTF8PROC_CATEGORY_LT:
	case UTF8PROC_CATEGORY_LM:
	case UTF8PROC_CATEGORY_LO:
	case UTF8PROC_CATEGORY_ND:
	case UTF8PROC_CATEGORY_NL:
	case UTF8PROC_CATEGORY_NO:
	case UTF8PROC_CATEGORY_CO:
		return CHAR_TOKEN;
	case UTF8PROC_CATEGORY_MN:
	case UTF8PROC_CATEGORY_MC:
	case UTF8PROC_CATEGORY_ME:
		return CHAR_DELETED;
	default:
		return CHAR_SEPARATOR;
	}
}

/*
 * Decode the character at s[0, avail) (avail > 0) and map it into out (room
 * for MAP_MAX).  Returns the number of code points stored, 0 for a character
 * that maps to nothing (a combining mark); *used receives the bytes the
 * character takes.  An invalid byte is U+FFFD and takes exactly one byte.
 */
static size_t map_char(const unsigned char *s, size_t avail,
                       utf8proc_int32_t *out, size_t *used)
{
	utf8proc_int32_t cp;
	utf8proc_ssize_t n;
	int boundclass = 0;

	n = utf8proc_iterate(s, avail < UTF8_MAX ? (utf8proc_ssize_t)avail
	                                         : UTF8_MAX, &cp);
	if (n < 0) {
		*used = 1;
		out[0] = 0xFFFD;
		return 1;
	}
	*used = (size_t)n;
	n = utf8proc_decompose_char(cp, out, MAP_MAX, FOLD_OPTIONS, &boundclass);
	if (n < 0 || n > MAP_MAX) {
		out[0] = 0xFFFD;
		return 1;
	}
	return (size_t)n;
}

/* The token being built: folded bytes and the original text they came from.
 * term comes first and is longer than LODE_TOKEN_READABLE. */
struct token {
	unsigned char term[LODE_MAX_TOKEN_BYTES + SCAN_BYTES]; /* folded UTF-8 */
	size_t len;        /* bytes in term; 0 when no token is open */
	size_t limit;      /* bytes term may hold: LODE_MAX_TOKEN_BYTES, or len
	                      once a character did not fit (the token is cut) */
	size_t start, end; /* byte range in the text, [start, end) */
	uint32_t position; /* position the token will get */
};

_Static_assert(LODE_MAX_TOKEN_BYTES + SCAN_BYTES >= LODE_TOKEN_READABLE,
               "a callback may read LODE_TOKEN_READABLE bytes of term");
_Static_assert(SCAN_BYTES >= UTF8_MAX, "the slack holds a character");

#ifdef __SSE2__
/*
 * Append the ASCII letters and digits that start s[0, SCAN_BYTES) to the
 * token, folded, and return how many there are (SCAN_BYTES: all, the run
 * goes on).  A byte at a time, each byte's table load waited for the one
 * before and the run's end was a mispredicted branch: half of the
 * tokenizer's time in perf.  Here a letter is c | 0x20 in 'a'..'z' (which
 * is also its folded form) and a digit c in '0'..'9' (c | 0x20 == c);
 * bytes from 0x80 are negative, so neither.  All SCAN_BYTES are stored
 * (term has that slack past any len), the run kept up to the limit.
 */
static size_t scan_ascii(struct token *tok, const unsigned char *s)
{
	__m128i v = _mm_loadu_si128((const __m128i *)(const void *)s);
	__m128i low = _mm_or_si128(v, _mm_set1_epi8(0x20));
	__m128i letter = _mm_and_si128(_mm_cmpgt_epi8(low, _mm_set1_epi8('a' - 1)),
	                               _mm_cmplt_epi8(low, _mm_set1_epi8('z' + 1)));
	__m128i digit = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)),
	                              _mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1)));
	unsigned mask = (unsigned)_mm_movemask_epi8(_mm_or_si128(letter, digit));
	size_t run = (size_t)__builtin_ctz(~mask);

	_mm_storeu_si128((__m128i *)(void *)(tok->term + tok->len), low);
	tok->len = tok->len + run < tok->limit ? tok->len + run : tok->limit;
	return run;
}
#endif

/*
 * Append code point cp to the token, or cut the token if cp does not fit:
 * then nothing more is appended until the token ends.
 */
static void token_append(struct token *tok, utf8proc_int32_t cp)
{
	/* term has UTF8_MAX bytes of slack past limit for the encoding. */
	size_t n = (size_t)utf8proc_encode_char(cp, tok->term + tok->len);

	if (tok->len + n <= tok->limit)
		tok->len += n;
	else
		tok->limit = tok->len;
}

/* Hand the open token, if any, to fn; returns fn's value (0 if none open). */
static int token_flush(struct token *tok, lode_token_fn fn, void *ctx)
{
	size_t len = tok->len;

	if (!len)
		return 0;
	tok->len = 0;
	tok->limit = LODE_MAX_TOKEN_BYTES;
	return fn(ctx, (const char *)tok->term, len, tok->position++,
	          tok->start, tok->end);
}

int lode_tokenize(const char *text, size_t len, lode_token_fn fn, void *ctx)
{
	const unsigned char *s = (const unsigned char *)text;
	utf8proc_int32_t map[MAP_MAX];
	struct token tok;
	size_t i = 0, used, nmap, k;
	unsigned char f;
	int rc;

	tok.len = 0;
	tok.limit = LODE_MAX_TOKEN_BYTES;
	tok.start = tok.end = 0;
	tok.position = 0;
	while (i < len) {
		f = ascii_fold[s[i]];
		if (f) {
			/*
			 * A run of ASCII letters and digits.  The byte is
			 * stored even past the limit (into the slack) and
			 * kept only below it, which saves a branch.
			 */
			if (!tok.len)
				tok.start = i;
#ifdef __SSE2__
			for (size_t run = SCAN_BYTES;
			     run == SCAN_BYTES && i + SCAN_BYTES <= len;)
				i += run = scan_ascii(&tok, s + i);
			/* With SCAN_BYTES left the scan ended the run; past them
			 * the byte loop finishes it, if the next byte goes on. */
			if (i + SCAN_BYTES <= len || i >= len ||
			    !(f = ascii_fold[s[i]])) {
				tok.end = i;
				continue;
			}
#endif
			do {
				tok.term[tok.len] = f;
				tok.len += tok.len < tok.limit;
				i++;
			} while (i < len && (f = ascii_fold[s[i]]));
			tok.end = i;
			continue;
		}
		if (s[i] < 0x80) {
			rc = token_flush(&tok, fn, ctx);
			if (rc)
				return rc;
			i++;
			continue;
		}
		nmap = map_char(s + i, len - i, map, &used);
		for (k = 0; k < nmap; k++) {
			switch (classify(map[k])) {
			case CHAR_TOKEN:
				if (!tok.len)
					tok.start = i;
				token_append(&tok, map[k]);
				tok.end = i + used;
				break;
			case CHAR_DELETED:
				if (tok.len)
					tok.end = i + used;
				break;
			case CHAR_SEPARATOR:
				rc = token_flush(&tok, fn, ctx);
				if (rc)
					return rc;
				break;
			}
		}
		if (!nmap && tok.len)
			tok.end = i + used;
		i += used;
	}
	return token_flush(&tok, fn, ctx);
}
