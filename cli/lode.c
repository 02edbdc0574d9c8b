/*
 * lode.c -- the command-line interface, a thin layer over lode.h.
 *
 *     lode index [-i INDEX] [--memory SIZE] DIR...
 *     lode search [-i INDEX] [-n N | -l | -c | --json] [--color=WHEN] QUERY...
 *     lode check [-i INDEX] [--sizes]
 *     lode bench [-i INDEX] [--mode M] [--repeat R] [--threads N] FILE
 *     lode help [COMMAND] | --help | --version
 *
 * Exit status: 0 success (search: something matched), 1 search matched
 * nothing, 2 any error; errors are one line on stderr starting "lode: ".
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "json.h"
#include "lode.h"
#include "quality.h"

#define EXIT_MATCH 0
#define EXIT_NO_MATCH 1
#define EXIT_TROUBLE 2

static const char usage_main[] =
	"usage: lode COMMAND [OPTIONS] [ARGS]\n"
	"\n"
	"commands:\n"
	"  index DIR...     build the index of the text files below DIRs\n"
	"  search QUERY     search the index (boolean and phrase queries)\n"
	"  check            verify every checksum and structure of the index\n"
	"  bench FILE       measure query latency and throughput\n"
	"  eval Q QRELS     rank free-text queries, score against judgments\n"
	"  help [COMMAND]   show help\n"
	"\n"
	"options every command takes (after its name):\n"
	"  -i, --index PATH  the index directory (default $LODE_INDEX or .lode)\n"
	"  -h, --help        show help;  --version  show the version\n"
	"\n"
	"See lode(1) for the query language and the exit codes.\n";

static const char usage_index[] =
	"usage: lode index [-i INDEX] [--memory SIZE] [-j N] [--stem LANG]\n"
	"                  [--no-text] DIR...\n"
	"\n"
	"Index every text file below each DIR (hidden entries and binary files\n"
	"are skipped) into INDEX, replacing the index there atomically.\n"
	"\n"
	"  -i, --index PATH   index directory (default $LODE_INDEX or .lode)\n"
	"  -m, --memory SIZE  memory the build may use; postings beyond it are\n"
	"                     spilled to disk as sorted runs, e.g. 64M or 1G\n"
	"                     (default 256M)\n"
	"  -j, --jobs N       threads to use (default: one per CPU; 1 = no\n"
	"                     thread but the caller's)\n"
	"  -s, --stem LANG    also index each word's Snowball stem (english,\n"
	"                     french, ...): bare words then match their stems\n"
	"      --no-text      keep no copy of the text (an index about half the\n"
	"                     size, built faster): snippets read each file at\n"
	"                     its indexed path, if it is unchanged\n"
	"  -q, --quiet        no progress line and no summary\n";

static const char usage_search[] =
	"usage: lode search [-i INDEX] [OPTIONS] QUERY...\n"
	"\n"
	"Search the index; the QUERY words are joined with spaces.\n"
	"Query language: words, \"quoted phrases\", AND, OR, NOT (uppercase),\n"
	"parentheses; adjacent operands are ANDed.  Example:\n"
	"  lode search '\"Supreme National Security Council\" AND retaliation'\n"
	"\n"
	"  -n, --results N    show the best N documents (default 10)\n"
	"  -l, --files        print the paths of all matches in index order\n"
	"  -c, --count        print only the number of matching documents\n"
	"      --json         one JSON object per result\n"
	"      --text         treat QUERY as plain text: its words ORed, ranked\n"
	"      --no-stem      match exact words only, in a stemmed index too\n"
	"      --k1 K1        BM25 term frequency saturation, 0 to 1e6 (default 1.2)\n"
	"      --b B          BM25 length normalisation, 0 to 1 (default 0.75)\n"
	"      --dfr          rank by DFR In_expB2 instead of BM25\n"
	"      --c C          DFR length normalisation, 0 < C <= 1e6 (default 1);\n"
	"                     implies --dfr\n"
	"      --color WHEN   highlight matches: auto, always or never\n"
	"\n"
	"Exit status: 0 if something matched, 1 if nothing did, 2 on error.\n";

static const char usage_check[] =
	"usage: lode check [-i INDEX] [--sizes]\n"
	"\n"
	"Verify the checksum of every file of the index and every structural\n"
	"invariant (term order, postings, positions, documents) and report.\n"
	"\n"
	"  -s, --sizes   also say what the bytes of each file hold, by the\n"
	"                structures of FORMAT.md\n";

static const char usage_bench[] =
	"usage: lode bench [-i INDEX] [OPTIONS] QUERY_FILE\n"
	"\n"
	"Run each query of QUERY_FILE (one per line, optionally CATEGORY<TAB>QUERY;\n"
	"'#' lines skipped) once to warm up, then R timed times, checking that every\n"
	"run gives the same answer; print latency percentiles and QPS per category.\n"
	"\n"
	"  -m, --mode MODE    count, all (every matching id) or top10 (default)\n"
	"  -k, --k N          depth of the ranked mode (default 10)\n"
	"  -r, --repeat R     timed runs per query (default 5)\n"
	"  -t, --threads N    run the list on N threads at once (default 1)\n"
	"      --json         one JSON object per query, then a summary object\n";

static const char usage_eval[] =
	"usage: lode eval [-i INDEX] [--run FILE] QUERIES.tsv QRELS\n"
	"\n"
	"Run each 'qid<TAB>text' line of QUERIES.tsv as free text (its words\n"
	"ORed, ranked by BM25 or --dfr), take the top 100, and score the rankings against\n"
	"the TREC qrels ('qid iter docname relevance'; docname = file name without\n"
	"directory or extension): MAP@100, nDCG@10, P@10 and Recall@100,\n"
	"averaged over the queries with at least one relevant document.\n"
	"\n"
	"  -r, --run FILE     also write the TREC run ('qid Q0 doc rank score lode')\n"
	"      --no-stem      match exact words only, in a stemmed index too\n"
	"      --k1 K1        BM25 term frequency saturation, 0 to 1e6 (default 1.2)\n"
	"      --b B          BM25 length normalisation, 0 to 1 (default 0.75)\n"
	"      --dfr          rank by DFR In_expB2 instead of BM25\n"
	"      --c C          DFR length normalisation, 0 < C <= 1e6 (default 1);\n"
	"                     implies --dfr\n";

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("lode: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EXIT_TROUBLE);
}

static void usage_error(const char *usage, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

static void usage_error(const char *usage, const char *fmt, ...)
{
	va_list ap;

	fputs("lode: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	/* The usage line only, as a hint. */
	fprintf(stderr, "%.*s(try 'lode help' for more)\n",
	        (int)(strchr(usage, '\n') - usage + 1), usage);
	exit(EXIT_TROUBLE);
}

/* getopt's complaint, as one "lode:" line naming the option. */
static void bad_option(const char *usage, int argc, char **argv)
	__attribute__((noreturn));

static void bad_option(const char *usage, int argc, char **argv)
{
	/* Inside a cluster like "-xy" getopt has not moved past it yet. */
	const char *arg = optopt && optind < argc && argv[optind][0] == '-' &&
	                  strchr(argv[optind] + 1, optopt)
	                  ? argv[optind] : argv[optind - 1];

	if (optopt && strchr("imnjkrst", optopt) && arg[0] == '-' &&
	    arg[1] == optopt && arg[2] == '\0')
		usage_error(usage, "option '-%c' needs a value", optopt);
	usage_error(usage, "unknown option '%s'%s", arg,
	            strchr(arg, ' ') ? " (put -- before a query that starts "
	                               "with '-')" : "");
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *default_index(void)
{
	const char *env = getenv("LODE_INDEX");

	return env && *env ? env : ".lode";
}

/* The argument of -i: a path, which an empty string is not. */
static const char *index_arg(const char *usage, const char *arg)
{
	if (!*arg)
		usage_error(usage, "-i: the index path is empty");
	return arg;
}

/* A language for --stem, as Snowball names them (lowercase): 'English'
 * and 'ENGLISH' are english. */
static const char *stem_arg(char *arg)
{
	for (char *c = arg; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	return arg;
}

/* Parse "64M", "1G", "300000" into bytes. */
static int parse_size(const char *s, size_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return -1;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	default: break;
	}
	if (v > (SIZE_MAX >> shift))
		return -1;
	v <<= shift;
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end || v == 0)
		return -1;
	*out = (size_t)v;
	return 0;
}

/* Print bytes, with control characters shown as '?' so that a file name
 * cannot move the terminal's cursor or fake another line. */
static void print_safe(FILE *f, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		fputc(c < 0x20 || c == 0x7f ? '?' : c, f);
	}
}

static unsigned parse_count(const char *usage, const char *what,
                            const char *s, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || end == s || *s == '-' || v == 0 || v > max)
		usage_error(usage, "bad %s '%s'", what, s);
	return (unsigned)v;
}

/* A decimal number, for options such as --k1 (the library checks ranges). */
/* A decimal number: strtod's hexadecimal, infinities and leading white
 * space are not what a user means by one. */
static double parse_number(const char *usage, const char *what, const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || end == s ||
	    s[strspn(s, "0123456789.eE+-")] != '\0')
		usage_error(usage, "bad %s '%s'", what, s);
	return v;
}

/* ---- index ------------------------------------------------------------- */

struct progress {
	int tty;
	double start, last;
};

/* The signal that asked a build to stop, or 0. */
static volatile sig_atomic_t stop_signal;

/* SIGINT, SIGTERM, SIGHUP during a build: it stops after the file it is
 * on and removes what it wrote (the old index stays); a second signal
 * ends the process at once, leaving the next build to clean up. */
static void on_stop_signal(int sig)
{
	if (stop_signal) {
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	stop_signal = sig;
}

static void catch_stop_signals(void)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sa.sa_flags = SA_RESTART; /* reads go on; the flag is seen per file */
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

static int on_progress(void *ctx, const lode_build_stats *s)
{
	struct progress *p = ctx;
	double t = now_seconds();

	if (stop_signal)
		return 1;
	if (p->tty && t - p->last >= 0.1) {
		double mb = (double)s->input_bytes / 1e6;
		p->last = t;
		fprintf(stderr, "\r  %" PRIu64 " files  %.1f MB  %.1f MB/s ",
		        s->documents, mb, mb / (t - p->start > 0 ? t - p->start : 1));
	}
	return 0;
}

static void on_warning(void *ctx, const char *message)
{
	struct progress *p = ctx;

	if (p->tty)
		fputs("\r\033[K", stderr);
	fprintf(stderr, "lode: warning: %s\n", message);
}

static int cmd_index(int argc, char **argv)
{
	static const struct option opts[] = {
		{"index", required_argument, NULL, 'i'},
		{"memory", required_argument, NULL, 'm'},
		{"quiet", no_argument, NULL, 'q'},
		{"jobs", required_argument, NULL, 'j'},
		{"stem", required_argument, NULL, 's'},
		{"no-text", no_argument, NULL, 'T'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *index = default_index();
	lode_build_options bo = {0};
	lode_build_stats st;
	struct progress prog = {0};
	lode_error err;
	int c, quiet = 0;

	while ((c = getopt_long(argc, argv, "i:m:qj:s:h", opts, NULL)) != -1) {
		switch (c) {
		case 'i': index = index_arg(usage_index, optarg); break;
		case 'm':
			if (parse_size(optarg, &bo.memory_budget))
				usage_error(usage_index, "bad --memory size '%s'", optarg);
			break;
		case 'q': quiet = 1; break;
		case 'j': bo.threads = parse_count(usage_index, "--jobs", optarg, 256); break;
		case 's': bo.stemmer = stem_arg(optarg); break;
		case 'T': bo.no_text = 1; break;
		case 'h': fputs(usage_index, stdout); return 0;
		default: bad_option(usage_index, argc, argv);
		}
	}
	if (optind >= argc)
		usage_error(usage_index, "index: no directory given");
	prog.tty = !quiet && isatty(STDERR_FILENO);
	prog.start = prog.last = now_seconds();
	bo.progress = on_progress;
	bo.warning = on_warning;
	bo.ctx = &prog;
	catch_stop_signals();
	if (lode_build(index, (const char *const *)argv + optind,
	               (size_t)(argc - optind), &bo, &st, &err)) {
		if (prog.tty)
			fputs("\r\033[K", stderr);
		if (stop_signal)
			die("indexing stopped by %s; the index is as it was",
			    strsignal(stop_signal));
		die("%s", err.message);
	}
	if (prog.tty)
		fputs("\r\033[K", stderr);
	if (!quiet) {
		double in_mb = (double)st.input_bytes / 1e6;
		printf("indexed %" PRIu64 " document%s in %.2f s (%.1f MB/s)\n",
		       st.documents, st.documents == 1 ? "" : "s", st.seconds,
		       st.seconds > 0 ? in_mb / st.seconds : 0.0);
		if (st.runs)
			printf("merged %" PRIu64 " sorted runs spilled to disk "
			       "(memory budget reached)\n", st.runs);
		if (st.skipped_binary || st.skipped_error)
			printf("skipped %" PRIu64 " binary file%s, %" PRIu64
			       " unreadable\n", st.skipped_binary,
			       st.skipped_binary == 1 ? "" : "s", st.skipped_error);
		printf("%" PRIu64 " distinct terms, %" PRIu64 " postings, %" PRIu64
		       " positions; %" PRIu64 " pairs of common words\n",
		       st.terms, st.postings, st.tokens, st.pairs);
		printf("input %.2f MB, index %.2f MB (%.0f%% of input%s) in %s\n",
		       in_mb, (double)st.index_bytes / 1e6,
		       st.input_bytes ? 100.0 * (double)st.index_bytes /
		                        (double)st.input_bytes : 0.0,
		       bo.no_text ? ", no text kept" : "", index);
	}
	return 0;
}

/* ---- search ------------------------------------------------------------ */

enum mode { MODE_RANKED, MODE_FILES, MODE_COUNT, MODE_JSON };

static lode_index *open_index(const char *path)
{
	lode_index *ix;
	lode_error err;

	if (lode_index_open(path, &ix, &err))
		die("%s", err.message);
	return ix;
}

/* -l, -c and --json are alternatives; the same one twice is fine. */
static void set_mode(enum mode *mode, enum mode want)
{
	if (*mode != MODE_RANKED && *mode != want)
		usage_error(usage_search, "-l, -c and --json are alternatives: "
		            "give one");
	*mode = want;
}

/* --k1 and --b tune BM25, which --dfr (or --c) replaces. */
static void check_ranking(const char *usage, int dfr, int bm25_given)
{
	if (dfr && bm25_given)
		usage_error(usage, "--k1 and --b are BM25's; --dfr ranks by DFR, "
		            "whose parameter is --c");
}

static char *join_args(int argc, char **argv)
{
	size_t len = 0;
	char *q;

	for (int i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	q = malloc(len + 1);
	if (!q)
		die("out of memory");
	q[0] = '\0';
	for (int i = 0; i < argc; i++) {
		if (i)
			strcat(q, " ");
		strcat(q, argv[i]);
	}
	return q;
}

/* lode search -l: each match's path, counted for the exit status. */
struct listing {
	const lode_index *ix;
	lode_doc_info info;  /* reused for every match */
	uint64_t count;
};

static int print_path(void *ctx, uint32_t doc)
{
	struct listing *l = ctx;
	lode_error err;

	if (lode_doc(l->ix, doc, &l->info, &err))
		die("%s", err.message);
	print_safe(stdout, l->info.path, l->info.path_len);
	putchar('\n');
	l->count++;
	return 0;
}

static void print_snippet(const lode_snippet *s, int color)
{
	size_t at = 0;

	for (size_t i = 0; i < s->nspans; i++) {
		print_safe(stdout, s->text + at, s->spans[i].start - at);
		if (color)
			fputs("\033[1;31m", stdout);
		print_safe(stdout, s->text + s->spans[i].start,
		           s->spans[i].end - s->spans[i].start);
		if (color)
			fputs("\033[0m", stdout);
		at = s->spans[i].end;
	}
	print_safe(stdout, s->text + at, s->len - at);
}

/* Document doc's snippet into s: 1 if made, 0 if the index keeps no text
 * and the file is gone or changed (a warning says so); exits on other
 * errors. */
static int make_snippet(const lode_index *ix, const lode_query *q,
                        uint32_t doc, lode_snippet *s)
{
	lode_error err;
	int rc = lode_snippet_make(ix, q, doc, 160, s, &err);

	if (rc == LODE_ESTALE) {
		fprintf(stderr, "lode: warning: %s\n", err.message);
		return 0;
	}
	if (rc)
		die("%s", err.message);
	return 1;
}

static void print_json_hit(const lode_index *ix, const lode_query *q,
                           size_t rank, const lode_hit *hit)
{
	lode_doc_info info = {0};
	lode_snippet s;
	lode_error err;
	int have;

	if (lode_doc(ix, hit->doc, &info, &err))
		die("%s", err.message);
	have = make_snippet(ix, q, hit->doc, &s);
	printf("{\"rank\":%zu,\"path\":", rank);
	lode_json_string(stdout, info.path, info.path_len);
	fputs(",\"score\":", stdout);
	lode_json_number(stdout, hit->score);
	fputs(",\"snippet\":", stdout);
	if (have)
		lode_json_string(stdout, s.text, s.len);
	else
		fputs("null", stdout);
	fputs(",\"matches\":[", stdout);
	for (size_t i = 0; have && i < s.nspans; i++)
		printf("%s[%zu,%zu]", i ? "," : "", s.spans[i].start, s.spans[i].end);
	fputs("]}\n", stdout);
	if (have)
		lode_snippet_release(&s);
	lode_doc_info_release(&info);
}

static void print_ranked_hit(const lode_index *ix, const lode_query *q,
                             size_t rank, const lode_hit *hit, int color)
{
	lode_doc_info info = {0};
	lode_snippet s;
	lode_error err;
	int have;

	if (lode_doc(ix, hit->doc, &info, &err))
		die("%s", err.message);
	have = make_snippet(ix, q, hit->doc, &s);
	printf("%2zu. %s", rank, color ? "\033[1;35m" : "");
	print_safe(stdout, info.path, info.path_len);
	printf("%s  %.3f\n", color ? "\033[0m" : "", hit->score);
	if (have) {
		fputs("    ", stdout);
		print_snippet(&s, color);
		putchar('\n');
		lode_snippet_release(&s);
	}
	lode_doc_info_release(&info);
}

static int cmd_search(int argc, char **argv)
{
	static const struct option opts[] = {
		{"index", required_argument, NULL, 'i'},
		{"results", required_argument, NULL, 'n'},
		{"files", no_argument, NULL, 'l'},
		{"count", no_argument, NULL, 'c'},
		{"json", no_argument, NULL, 'j'},
		{"text", no_argument, NULL, 'T'},
		{"no-stem", no_argument, NULL, 'S'},
		{"k1", required_argument, NULL, 'K'},
		{"b", required_argument, NULL, 'B'},
		{"dfr", no_argument, NULL, 'D'},
		{"c", required_argument, NULL, 'E'},
		{"color", required_argument, NULL, 'C'},
		{"colour", required_argument, NULL, 'C'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *index = default_index(), *color_when = "auto";
	enum mode mode = MODE_RANKED;
	size_t k = 10, nhits = 0;
	uint64_t total = 0;
	lode_index *ix;
	lode_query *q;
	lode_hit *hits = NULL;
	lode_error err;
	double start, k1 = LODE_BM25_K1, b = LODE_BM25_B, dfr_c = LODE_DFR_C;
	char *text, *end;
	int c, color, free_text = 0, exact = 0, dfr = 0, bm25_given = 0;

	while ((c = getopt_long(argc, argv, "i:n:lch", opts, NULL)) != -1) {
		switch (c) {
		case 'i': index = index_arg(usage_search, optarg); break;
		case 'n':
			errno = 0;
			k = (size_t)strtoull(optarg, &end, 10);
			if (errno || *end || end == optarg || *optarg == '-' ||
			    k > 1000000)
				usage_error(usage_search, "bad -n value '%s'", optarg);
			break;
		case 'l': set_mode(&mode, MODE_FILES); break;
		case 'c': set_mode(&mode, MODE_COUNT); break;
		case 'j': set_mode(&mode, MODE_JSON); break;
		case 'T': free_text = 1; break;
		case 'S': exact = 1; break;
		case 'K':
			k1 = parse_number(usage_search, "--k1", optarg);
			bm25_given = 1;
			break;
		case 'B':
			b = parse_number(usage_search, "--b", optarg);
			bm25_given = 1;
			break;
		case 'D': dfr = 1; break;
		case 'E':
			dfr = 1; /* --c only means something for DFR */
			dfr_c = parse_number(usage_search, "--c", optarg);
			break;
		case 'C': color_when = optarg; break;
		case 'h': fputs(usage_search, stdout); return 0;
		default: bad_option(usage_search, argc, argv);
		}
	}
	if (strcmp(color_when, "always") == 0)
		color = 1;
	else if (strcmp(color_when, "never") == 0)
		color = 0;
	else if (strcmp(color_when, "auto") == 0)
		/* NO_COLOR counts when set and not empty (no-color.org). */
		color = isatty(STDOUT_FILENO) &&
		        !(getenv("NO_COLOR") && *getenv("NO_COLOR"));
	else
		usage_error(usage_search, "--color takes auto, always or never");
	check_ranking(usage_search, dfr, bm25_given);
	if (optind >= argc)
		usage_error(usage_search, "search: no query given");

	start = now_seconds();
	text = join_args(argc - optind, argv + optind);
	if ((free_text ? lode_query_parse_text : lode_query_parse)(
	            text, strlen(text), &q, &err))
		die("%s", err.message);
	lode_query_set_exact(q, exact);
	if (dfr ? lode_query_set_dfr(q, dfr_c, &err)
	        : lode_query_set_bm25(q, k1, b, &err))
		die("%s", err.message);
	ix = open_index(index);
	switch (mode) {
	case MODE_FILES: {
		struct listing l = {.ix = ix};
		if (lode_match(ix, q, print_path, &l, &err) < 0)
			die("%s", err.message);
		total = l.count;
		lode_doc_info_release(&l.info);
		break;
	}
	case MODE_COUNT:
		if (lode_count(ix, q, &total, &err))
			die("%s", err.message);
		printf("%" PRIu64 "\n", total);
		break;
	case MODE_RANKED:
	case MODE_JSON:
		hits = malloc((k ? k : 1) * sizeof(*hits));
		if (!hits)
			die("out of memory");
		if (lode_search(ix, q, k, hits, &nhits, &total, &err))
			die("%s", err.message);
		for (size_t i = 0; i < nhits; i++) {
			if (mode == MODE_JSON)
				print_json_hit(ix, q, i + 1, &hits[i]);
			else
				print_ranked_hit(ix, q, i + 1, &hits[i], color);
		}
		if (mode == MODE_RANKED)
			printf("%s%" PRIu64 " matching document%s, %zu shown "
			       "(%.2f ms)\n", nhits ? "\n" : "", total,
			       total == 1 ? "" : "s", nhits,
			       (now_seconds() - start) * 1e3);
		break;
	}
	free(hits);
	free(text);
	lode_query_free(q);
	lode_index_close(ix);
	return total ? EXIT_MATCH : EXIT_NO_MATCH;
}

/* ---- check --------------------------------------------------------------- */

/* Bytes, with a share of the file they are in. */
static void print_part(const char *name, uint64_t bytes, uint64_t file)
{
	printf("  %-22s %12" PRIu64 "  %5.1f%%\n", name, bytes,
	       file ? 100.0 * (double)bytes / (double)file : 0.0);
}

static void print_sizes(const lode_index_sizes *s)
{
	uint64_t index = s->dictionary + s->postings + s->positions +
	                 s->document_table;

	printf("%-24s %12" PRIu64 "  %" PRIu64 " terms (%" PRIu64 " stems, %"
	       PRIu64 " pairs)\n", "terms.dic", s->dictionary, s->terms,
	       s->stem_terms, s->pair_terms);
	printf("%-24s %12" PRIu64 "  %" PRIu64 " blocks, %" PRIu64
	       " with exceptions, %" PRIu64 " Rice-coded, %" PRIu64
	       " of one document\n", "postings.pst", s->postings, s->blocks,
	       s->patched_blocks, s->rice_blocks, s->single_terms);
	print_part("skip tables", s->skip_tables, s->postings);
	print_part("block headers", s->block_headers, s->postings);
	print_part("documents", s->doc_parts, s->postings);
	print_part("frequencies", s->freq_parts, s->postings);
	print_part("impact lists", s->impact_lists, s->postings);
	print_part("(of these, pair terms)", s->pair_postings, s->postings);
	printf("%-24s %12" PRIu64 "  %" PRIu64 " positions, %.2f bits each\n",
	       "positions.pos", s->positions, s->position_count,
	       s->position_count ? 8.0 * (double)s->positions /
	                           (double)s->position_count : 0.0);
	printf("%-24s %12" PRIu64 "\n", "docs.tab", s->document_table);
	printf("%-24s %12" PRIu64 "\n", "index without text", index);
	printf("%-24s %12" PRIu64 "\n", "text.z", s->stored_text);
}

static int cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{"index", required_argument, NULL, 'i'},
		{"sizes", no_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *index = default_index();
	lode_index_info info;
	lode_index_sizes sizes;
	lode_index *ix;
	lode_error err;
	int c, want_sizes = 0;

	while ((c = getopt_long(argc, argv, "i:sh", opts, NULL)) != -1) {
		switch (c) {
		case 'i': index = index_arg(usage_check, optarg); break;
		case 's': want_sizes = 1; break;
		case 'h': fputs(usage_check, stdout); return 0;
		default: bad_option(usage_check, argc, argv);
		}
	}
	if (optind < argc)
		usage_error(usage_check, "check: unexpected argument '%s'",
		            argv[optind]);
	ix = open_index(index);
	if (lode_check_sizes(ix, &sizes, &err))
		die("%s", err.message);
	lode_index_info_get(ix, &info);
	printf("%s: ok: %" PRIu32 " segment%s, %" PRIu64 " documents, %.2f MB, "
	       "every checksum and structure verified\n", index, info.segments,
	       info.segments == 1 ? "" : "s", info.documents,
	       (double)info.index_bytes / 1e6);
	if (want_sizes)
		print_sizes(&sizes);
	lode_index_close(ix);
	return 0;
}

/* ---- bench --------------------------------------------------------------- */

/* The K of --mode topK: 1 to 1000000, or 0 if it is not. */
static size_t parse_depth(const char *s)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	return errno || *end || end == s || v > 1000000 ? 0 : (size_t)v;
}

static int cmd_bench(int argc, char **argv)
{
	static const struct option opts[] = {
		{"index", required_argument, NULL, 'i'},
		{"mode", required_argument, NULL, 'm'},
		{"k", required_argument, NULL, 'k'},
		{"repeat", required_argument, NULL, 'r'},
		{"threads", required_argument, NULL, 't'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *index = default_index();
	lode_bench_options opt = {LODE_BENCH_TOP, 10, 5, 1};
	lode_bench b;
	lode_index *ix;
	lode_error err;
	size_t k = 0; /* --k, which wins over topK in any order */
	int c, json = 0;

	while ((c = getopt_long(argc, argv, "i:m:k:r:t:h", opts, NULL)) != -1) {
		switch (c) {
		case 'i': index = index_arg(usage_bench, optarg); break;
		case 'm':
			if (strcmp(optarg, "count") == 0)
				opt.mode = LODE_BENCH_COUNT;
			else if (strcmp(optarg, "all") == 0)
				opt.mode = LODE_BENCH_ALL;
			else if (strncmp(optarg, "top", 3) == 0 &&
			         strspn(optarg + 3, "0123456789") == strlen(optarg + 3)) {
				opt.mode = LODE_BENCH_TOP;
				if (optarg[3] && !(opt.k = parse_depth(optarg + 3)))
					usage_error(usage_bench, "bad mode '%s'", optarg);
			} else
				usage_error(usage_bench, "bad mode '%s'", optarg);
			break;
		case 'k': k = parse_count(usage_bench, "k", optarg, 1000000); break;
		case 'r': opt.repeat = parse_count(usage_bench, "repeat", optarg, 100000); break;
		case 't': opt.threads = parse_count(usage_bench, "threads", optarg, 256); break;
		case 'j': json = 1; break;
		case 'h': fputs(usage_bench, stdout); return 0;
		default: bad_option(usage_bench, argc, argv);
		}
	}
	if (k)
		opt.k = k;
	if (optind + 1 != argc)
		usage_error(usage_bench, "bench: give exactly one query file");
	if (lode_bench_load(&b, argv[optind], &err))
		die("%s", err.message);
	ix = open_index(index);
	if (lode_bench_run(&b, ix, &opt, &err))
		die("%s", err.message);
	lode_bench_report(&b, ix, stdout, json);
	lode_bench_free(&b);
	lode_index_close(ix);
	return 0;
}

/* ---- eval ---------------------------------------------------------------- */

static int cmd_eval(int argc, char **argv)
{
	static const struct option opts[] = {
		{"index", required_argument, NULL, 'i'},
		{"run", required_argument, NULL, 'r'},
		{"no-stem", no_argument, NULL, 'S'},
		{"k1", required_argument, NULL, 'K'},
		{"b", required_argument, NULL, 'B'},
		{"dfr", no_argument, NULL, 'D'},
		{"c", required_argument, NULL, 'E'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *index = default_index(), *run_path = NULL;
	lode_eval_options eo = {0, LODE_BM25_K1, LODE_BM25_B, 0, LODE_DFR_C};
	lode_eval_summary sum;
	lode_qrels qrels;
	lode_index *ix;
	lode_error err;
	FILE *run = NULL;
	int c, bm25_given = 0;

	while ((c = getopt_long(argc, argv, "i:r:h", opts, NULL)) != -1) {
		switch (c) {
		case 'i': index = index_arg(usage_eval, optarg); break;
		case 'r': run_path = optarg; break;
		case 'S': eo.exact = 1; break;
		case 'K':
			eo.k1 = parse_number(usage_eval, "--k1", optarg);
			bm25_given = 1;
			break;
		case 'B':
			eo.b = parse_number(usage_eval, "--b", optarg);
			bm25_given = 1;
			break;
		case 'D': eo.dfr = 1; break;
		case 'E':
			eo.dfr = 1; /* --c only means something for DFR */
			eo.c = parse_number(usage_eval, "--c", optarg);
			break;
		case 'h': fputs(usage_eval, stdout); return 0;
		default: bad_option(usage_eval, argc, argv);
		}
	}
	check_ranking(usage_eval, eo.dfr, bm25_given);
	if (optind + 2 != argc)
		usage_error(usage_eval, "eval: give a query file and a qrels file");
	if (lode_qrels_load(&qrels, argv[optind + 1], &err))
		die("%s", err.message);
	ix = open_index(index);
	if (run_path && !(run = fopen(run_path, "w")))
		die("%s: %s", run_path, strerror(errno));
	if (lode_evaluate(ix, argv[optind], &qrels, &eo, run, &sum, &err))
		die("%s", err.message);
	if (run && fclose(run) != 0)
		die("%s: %s", run_path, strerror(errno));
	printf("queries   %zu (%zu with relevant documents)\n", sum.queries,
	       sum.judged);
	printf("MAP@100   %.4f\nnDCG@10   %.4f\nP@10      %.4f\nR@100     %.4f\n",
	       sum.mean.ap100, sum.mean.ndcg10, sum.mean.p10, sum.mean.recall100);
	lode_qrels_free(&qrels);
	lode_index_close(ix);
	return 0;
}

/* ---- main ---------------------------------------------------------------- */

static const char *usage_of(const char *cmd)
{
	if (strcmp(cmd, "index") == 0)
		return usage_index;
	if (strcmp(cmd, "search") == 0)
		return usage_search;
	if (strcmp(cmd, "check") == 0)
		return usage_check;
	if (strcmp(cmd, "bench") == 0)
		return usage_bench;
	if (strcmp(cmd, "eval") == 0)
		return usage_eval;
	return NULL;
}

static int run_command(int argc, char **argv)
{
	const char *cmd = argv[1];

	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		fputs(usage_main, stdout);
		return 0;
	}
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
		printf("lode %s (index format version %" PRIu32 ")\n",
		       LODE_VERSION_STRING, lode_format_version());
		return 0;
	}
	if (strcmp(cmd, "help") == 0) {
		const char *u = argc > 2 ? usage_of(argv[2]) : usage_main;
		if (!u)
			usage_error(usage_main, "help: unknown command '%s'", argv[2]);
		fputs(u, stdout);
		return 0;
	}
	if (strcmp(cmd, "index") == 0)
		return cmd_index(argc - 1, argv + 1);
	if (strcmp(cmd, "search") == 0)
		return cmd_search(argc - 1, argv + 1);
	if (strcmp(cmd, "check") == 0)
		return cmd_check(argc - 1, argv + 1);
	if (strcmp(cmd, "bench") == 0)
		return cmd_bench(argc - 1, argv + 1);
	if (strcmp(cmd, "eval") == 0)
		return cmd_eval(argc - 1, argv + 1);
	usage_error(usage_main, "unknown command '%s'", cmd);
}

int main(int argc, char **argv)
{
	int rc;

	if (argc < 2) {
		fputs(usage_main, stderr);
		return EXIT_TROUBLE;
	}
	opterr = 0; /* option errors are reported as one "lode:" line */
	rc = run_command(argc, argv);
	/* Output that could not be written is an error, whatever the command. */
	if (fflush(stdout) != 0 || ferror(stdout))
		die("writing output: %s", strerror(errno ? errno : EIO));
	return rc;
}
