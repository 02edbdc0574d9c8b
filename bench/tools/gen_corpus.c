/*
 * gen_corpus.c -- a synthetic corpus of any size, for scaling benchmarks.
 *
 *     gen_corpus DIR MEGABYTES [SEED]
 *
 * Writes DIR/NNNN/NNNNNNN.txt files of text until MEGABYTES of it exist.
 * Words come from a vocabulary of 500,000 pronounceable pseudo-words drawn
 * with Zipf's law (exponent 1.0: the r-th most frequent word has frequency
 * proportional to 1/r, as in natural text); document lengths follow a
 * log-normal distribution (median 300 words, as news articles), sentences
 * 5 to 30 words with capitals and punctuation.  The same seed gives the
 * same corpus, byte for byte.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define VOCABULARY 500000
#define FILES_PER_DIR 1000

static uint64_t state;

static uint64_t next(void)
{
	uint64_t x = state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static double uniform(void)
{
	return (double)(next() >> 11) / 9007199254740992.0;
}

static double normal(void)
{
	double u = uniform(), v = uniform();

	return sqrt(-2.0 * log(u > 0 ? u : 1e-300)) * cos(2 * M_PI * v);
}

static char *words[VOCABULARY];
static double cdf[VOCABULARY];

static void make_vocabulary(void)
{
	static const char *const onset[] = {"b", "c", "d", "f", "g", "h", "j",
		"k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z", "br", "ch",
		"cl", "dr", "fl", "gr", "pl", "pr", "sh", "st", "th", "tr"};
	static const char *const vowel[] = {"a", "e", "i", "o", "u", "ai", "ea",
		"ou", "io", "y"};
	static const char *const coda[] = {"", "", "n", "r", "s", "t", "l",
		"nd", "st", "ng", "x"};
	double sum = 0;

	for (int r = 0; r < VOCABULARY; r++) {
		char buf[64] = "";
		/* Frequent words are short, as in real languages. */
		int syllables = 1 + (r > 100) + (r > 5000) + (int)(next() % 2);
		for (int s = 0; s < syllables; s++) {
			strcat(buf, onset[next() % 30]);
			strcat(buf, vowel[next() % 10]);
			strcat(buf, coda[next() % 11]);
		}
		if (r > 1000 && r % 7 == 0)
			snprintf(buf + strlen(buf), 8, "%d", r % 97);
		words[r] = strdup(buf);
		sum += 1.0 / (r + 1);
		cdf[r] = sum;
	}
	for (int r = 0; r < VOCABULARY; r++)
		cdf[r] /= sum;
}

static const char *zipf_word(void)
{
	double u = uniform();
	int lo = 0, hi = VOCABULARY - 1;

	while (lo < hi) {
		int mid = (lo + hi) / 2;
		if (cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return words[lo];
}

int main(int argc, char **argv)
{
	uint64_t target, written = 0;
	char path[4096];
	long doc = 0;

	if (argc < 3 || atof(argv[2]) <= 0) {
		fprintf(stderr, "usage: gen_corpus DIR MEGABYTES [SEED]\n");
		return 2;
	}
	target = (uint64_t)(atof(argv[2]) * 1e6);
	state = argc > 3 ? strtoull(argv[3], NULL, 10) : 1;
	if (!state)
		state = 1;
	make_vocabulary();
	if (mkdir(argv[1], 0755) != 0 && errno != EEXIST) {
		perror(argv[1]);
		return 2;
	}
	while (written < target) {
		long n = lround(exp(log(300.0) + 0.8 * normal()));
		FILE *f;
		if (doc % FILES_PER_DIR == 0) {
			snprintf(path, sizeof(path), "%s/%04ld", argv[1],
			         doc / FILES_PER_DIR);
			mkdir(path, 0755);
		}
		snprintf(path, sizeof(path), "%s/%04ld/%07ld.txt", argv[1],
		         doc / FILES_PER_DIR, doc);
		f = fopen(path, "w");
		if (!f) {
			perror(path);
			return 2;
		}
		for (long w = 0, sentence = 0; w < (n < 5 ? 5 : n); w++) {
			const char *word = zipf_word();
			if (sentence == 0) {
				fputc(word[0] - 'a' + 'A', f);
				fputs(word + 1, f);
				sentence = 5 + (long)(next() % 26);
			} else {
				fputs(word, f);
			}
			if (--sentence == 0)
				fputs(next() % 5 ? ". " : ".\n", f);
			else
				fputs(next() % 12 ? " " : ", ", f);
		}
		fputc('\n', f);
		written += (uint64_t)ftell(f);
		fclose(f);
		doc++;
	}
	printf("%ld documents, %.1f MB in %s\n", doc, written / 1e6, argv[1]);
	return 0;
}
