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

#endif
