/* index.c -- opening an index: manifest, segments, document access. */
#include "index.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "file.h"
#include "format.h"
#include "stem.h"

/* Manifest: header, u32 segments, u32 stemmer length, the stemmer's name,
 * per segment u64 generation, u32 documents, u32 zero; then the CRC. */
#define MANIFEST_ENTRY_SIZE 16

uint32_t lode_format_version(void)
{
	return LODE_FORMAT_VERSION;
}

static int open_segments(lode_index *ix, const lode_map *m, lode_error *err)
{
	uint32_t n = lode_get32(m->data + LODE_HEADER_SIZE);
	uint32_t stemmer_len = lode_get32(m->data + LODE_HEADER_SIZE + 4);
	const uint8_t *e = m->data + LODE_HEADER_SIZE + 8 + stemmer_len;
	size_t entries;
	int rc;

	if (stemmer_len > LODE_STEMMER_NAME_MAX ||
	    stemmer_len > m->size - LODE_HEADER_SIZE - 8 - 4)
		return lode_fail(err, LODE_ECORRUPT,
		                 "%s: corrupt: bad stemmer name", m->path);
	memcpy(ix->stemmer, m->data + LODE_HEADER_SIZE + 8, stemmer_len);
	ix->stemmer[stemmer_len] = '\0';
	if (memchr(ix->stemmer, '\0', stemmer_len))
		return lode_fail(err, LODE_ECORRUPT,
		                 "%s: corrupt: bad stemmer name", m->path);
	entries = m->size - LODE_HEADER_SIZE - 8 - 4 - stemmer_len;
	if (entries / MANIFEST_ENTRY_SIZE != n || entries % MANIFEST_ENTRY_SIZE != 0)
		return lode_fail(err, LODE_ECORRUPT,
		                 "%s: corrupt: segment count does not match its size",
		                 m->path);
	ix->segs = lode_calloc(n ? n : 1, sizeof(struct lode_segment));
	if (!ix->segs)
		return lode_fail(err, LODE_ENOMEM, "out of memory");
	for (uint32_t i = 0; i < n; i++, e += MANIFEST_ENTRY_SIZE) {
		char name[64], *dir;
		uint64_t gen = lode_get64(e);
		uint32_t ndocs = lode_get32(e + 8);
		if (ix->ndocs + ndocs >= UINT32_MAX)
			return lode_fail(err, LODE_ECORRUPT, "%s: corrupt: too many "
			                 "documents", m->path);
		snprintf(name, sizeof(name), LODE_SEGMENT_PREFIX "%06" PRIu64, gen);
		dir = lode_path_join(ix->path, name);
		if (!dir)
			return lode_fail(err, LODE_ENOMEM, "out of memory");
		rc = lode_segment_open(&ix->segs[i], dir, ndocs, err);
		lode_free(dir);
		if (rc)
			return rc;
		ix->nsegs = i + 1;
		ix->segs[i].doc_base = (uint32_t)ix->ndocs;
		ix->ndocs += ndocs;
		ix->tokens += ix->segs[i].tokens;
		ix->bytes += ix->segs[i].dict.size + ix->segs[i].postings.size +
		             ix->segs[i].positions.size + ix->segs[i].docs.size +
		             ix->segs[i].text.size;
	}
	ix->bytes += m->size;
	ix->avgdl = ix->ndocs ? (double)ix->tokens / (double)ix->ndocs : 1.0;
	if (ix->avgdl <= 0)
		ix->avgdl = 1.0;
	return LODE_OK;
}

int lode_index_open(const char *path, lode_index **out, lode_error *err)
{
	lode_index *ix = lode_calloc(1, sizeof(*ix));
	char *manifest = NULL;
	lode_map m;
	int rc, attempt;

	lode_error_clear(err);
	*out = NULL;
	if (ix)
		atomic_init(&ix->spare_eval, NULL);
	if (!ix || !(ix->path = lode_path_join(path, "")) ||
	    !(manifest = lode_path_join(path, LODE_MANIFEST_NAME))) {
		rc = lode_fail(err, LODE_ENOMEM, "out of memory");
		goto out_free;
	}
	ix->path[strlen(ix->path) - 1] = '\0';
	/* A build may replace the manifest and delete the segments it names
	 * between our reading one and opening the other: read it again. */
	for (attempt = 0; attempt < 3; attempt++) {
		rc = lode_map_open(&m, manifest, LODE_MAGIC_MANIFEST, 8 + 4, err);
		if (rc == LODE_ENOTFOUND) {
			rc = lode_fail(err, LODE_ENOTFOUND,
			               "no index at %s (run 'lode index DIR' first)",
			               path);
			goto out_free;
		}
		if (rc)
			goto out_free;
		rc = lode_map_verify_crc(&m, err);
		if (rc == LODE_OK)
			rc = open_segments(ix, &m, err);
		lode_map_close(&m);
		if (rc != LODE_ECORRUPT || attempt == 2)
			break;
		for (uint32_t i = 0; i < ix->nsegs; i++)
			lode_segment_close(&ix->segs[i]);
		lode_free(ix->segs);
		ix->segs = NULL;
		ix->nsegs = 0;
		ix->ndocs = ix->tokens = ix->bytes = 0;
	}
	if (rc)
		goto out_free;
	if (ix->stemmer[0]) {
		/* Queries will stem with it: be sure this lode has it. */
		struct lode_stemmer *st;
		rc = lode_stemmer_new(ix->stemmer, &st, err);
		if (rc == LODE_EINVAL)
			rc = lode_fail(err, LODE_EVERSION, "%s: index built with the "
			               "'%s' stemmer, which this lode does not have",
			               path, ix->stemmer);
		if (rc)
			goto out_free;
		lode_stemmer_free(st);
	}
	lode_free(manifest);
	*out = ix;
	return LODE_OK;
out_free:
	lode_free(manifest);
	lode_index_close(ix);
	return rc;
}

void lode_index_close(lode_index *ix)
{
	if (!ix)
		return;
	for (uint32_t i = 0; i < ix->nsegs; i++)
		lode_segment_close(&ix->segs[i]);
	lode_free(ix->segs);
	lode_free(ix->path);
	lode_free(atomic_load(&ix->spare_eval));
	lode_free(ix);
}

void lode_index_info_get(const lode_index *ix, lode_index_info *info)
{
	info->documents = ix->ndocs;
	info->tokens = ix->tokens;
	info->index_bytes = ix->bytes;
	info->segments = ix->nsegs;
	info->stemmer = ix->stemmer[0] ? ix->stemmer : NULL;
}

const struct lode_segment *lode_index_segment_of(const lode_index *ix,
                                                 uint32_t doc, uint32_t *local)
{
	uint32_t lo = 0, hi = ix->nsegs;

	if (doc >= ix->ndocs)
		return NULL;
	/* Last segment whose doc_base <= doc. */
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (ix->segs[mid].doc_base <= doc)
			lo = mid;
		else
			hi = mid;
	}
	*local = doc - ix->segs[lo].doc_base;
	return &ix->segs[lo];
}

int lode_doc(const lode_index *ix, uint32_t doc, lode_doc_info *info,
             lode_error *err)
{
	uint32_t local;
	const struct lode_segment *seg = lode_index_segment_of(ix, doc, &local);

	lode_error_clear(err);
	if (!seg)
		return lode_fail(err, LODE_EINVAL, "no document %u", doc);
	return lode_segment_doc(seg, local, info, err);
}

void lode_doc_info_release(lode_doc_info *info)
{
	if (!info)
		return;
	lode_free(info->buf);
	memset(info, 0, sizeof(*info));
}

int lode_doc_text(const lode_index *ix, uint32_t doc, char **text, size_t *len,
                  lode_error *err)
{
	uint32_t local;
	const struct lode_segment *seg = lode_index_segment_of(ix, doc, &local);

	lode_error_clear(err);
	if (!seg)
		return lode_fail(err, LODE_EINVAL, "no document %u", doc);
	return lode_segment_doc_text(seg, local, SIZE_MAX, text, len, NULL, err);
}
