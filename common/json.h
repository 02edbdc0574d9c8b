/*
 * json.h -- JSON output shared by `lode search --json` and `lode bench --json`.
 */
#ifndef LODE_COMMON_JSON_H
#define LODE_COMMON_JSON_H

#include <stddef.h>
#include <stdio.h>

/* Print p[0, n) as a JSON string, quotes included; bytes that are not UTF-8
 * become U+FFFD, so that the output is valid JSON whatever the input (a
 * file name, a query file's category). */
void lode_json_string(FILE *f, const char *p, size_t n);

/* Print finite v as the shortest JSON number that reads back as v (15 to
 * 17 significant digits), so that scores keep every bit and tiny ones are
 * not 0.000000. */
void lode_json_number(FILE *f, double v);

#endif
