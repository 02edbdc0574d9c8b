/*
 * lucene_peer.cc -- Lucene++ (Debian's liblucene++, Lucene 3.0) as a
 * measuring instrument for lode bench.
 *
 * Documents are tokenized by lode's own tokenizer and handed to Lucene as
 * space-separated tokens under a WhitespaceAnalyzer, so both engines index
 * the same terms at the same positions; nothing is stored, and the index is
 * optimized to one segment.  Queries are parsed by lode's parser and the
 * tree becomes TermQuery, PhraseQuery and BooleanQuery clauses (MUST,
 * SHOULD, MUST_NOT; a leading NOT is all documents MUST_NOT).  Mode all and
 * count collect every match with a collector in document order; top10
 * ranks with Lucene 3.0's own similarity (TF-IDF: there is no BM25 in this
 * version).  See peer.h.
 */
#include <lucene++/LuceneHeaders.h>
#include <lucene++/MatchAllDocsQuery.h>

#include <cstdio>
#include <cstring>
#include <string>

extern "C" {
#include "peer.h"
#include "query.h"
#include "tokenizer.h"
}

using namespace Lucene;

static IndexWriterPtr writer;
static IndexSearcherPtr searcher;

static int index_open(const char *path)
{
	try {
		writer = newLucene<IndexWriter>(FSDirectory::open(StringUtils::toUnicode(path)),
		                                newLucene<WhitespaceAnalyzer>(), true,
		                                IndexWriter::MaxFieldLengthUNLIMITED);
	} catch (LuceneException &e) {
		std::fprintf(stderr, "lucene_peer: %ls\n", e.getError().c_str());
		return -1;
	}
	return 0;
}

static int on_token(void *ctx, const char *term, size_t len, uint32_t, size_t,
                    size_t)
{
	std::string *out = static_cast<std::string *>(ctx);

	out->append(term, len);
	out->push_back(' ');
	return 0;
}

static int add(int64_t, const char *text, size_t len)
{
	std::string tokens;
	DocumentPtr doc = newLucene<Document>();

	lode_tokenize(text, len, on_token, &tokens);
	doc->add(newLucene<Field>(L"body", StringUtils::toUnicode(tokens),
	                          Field::STORE_NO, Field::INDEX_ANALYZED));
	writer->addDocument(doc);
	return 0;
}

static int index_close(void)
{
	writer->optimize();
	writer->close();
	writer.reset();
	return 0;
}

static int open_index(const char *path)
{
	try {
		searcher = newLucene<IndexSearcher>(
			IndexReader::open(FSDirectory::open(StringUtils::toUnicode(path)),
			                  true));
	} catch (LuceneException &e) {
		std::fprintf(stderr, "lucene_peer: %ls\n", e.getError().c_str());
		return -1;
	}
	return 0;
}

static TermPtr term_of(const lode_qnode *q, size_t i)
{
	return newLucene<Term>(L"body", StringUtils::toUnicode(
		std::string(q->terms[i], q->term_len[i])));
}

static QueryPtr convert(const lode_qnode *q)
{
	BooleanQueryPtr b = newLucene<BooleanQuery>();

	switch (q->kind) {
	case LODE_Q_PHRASE: {
		if (q->nterms == 1)
			return newLucene<TermQuery>(term_of(q, 0));
		PhraseQueryPtr p = newLucene<PhraseQuery>();
		for (size_t i = 0; i < q->nterms; i++)
			p->add(term_of(q, i));
		return p;
	}
	case LODE_Q_NOT:
		b->add(newLucene<MatchAllDocsQuery>(), BooleanClause::MUST);
		b->add(convert(q->child[0]), BooleanClause::MUST_NOT);
		return b;
	case LODE_Q_ANDNOT:
		b->add(convert(q->child[0]), BooleanClause::MUST);
		b->add(convert(q->child[1]), BooleanClause::MUST_NOT);
		return b;
	case LODE_Q_AND:
	case LODE_Q_OR:
		for (size_t i = 0; i < q->nchild; i++)
			b->add(convert(q->child[i]), q->kind == LODE_Q_AND
			                             ? BooleanClause::MUST
			                             : BooleanClause::SHOULD);
		return b;
	}
	return b;
}

/* Every match, in document order. */
class AllCollector : public Collector {
public:
	struct peer_answer *answer;
	int32_t base = 0;
	virtual void setScorer(const ScorerPtr &) {}
	virtual void collect(int32_t doc) { peer_answer_add(answer, (uint64_t)(base + doc)); }
	virtual void setNextReader(const IndexReaderPtr &, int32_t docBase) { base = docBase; }
	virtual bool acceptsDocsOutOfOrder() { return false; }
};

static int run(const char *text, enum peer_mode mode, struct peer_answer *a)
{
	lode_qnode *root;
	lode_error err;

	if (lode_qnode_parse(text, std::strlen(text), &root, &err))
		return -1;
	try {
		QueryPtr query = convert(root);
		if (mode == PEER_TOP10) {
			TopDocsPtr top = searcher->search(query, 10);
			for (int32_t i = 0; i < top->scoreDocs.size(); i++)
				peer_answer_add(a, (uint64_t)top->scoreDocs[i]->doc);
		} else {
			boost::shared_ptr<AllCollector> c(new AllCollector());
			c->answer = a;
			searcher->search(query, c);
			if (mode == PEER_COUNT)
				a->hash = 0;
		}
	} catch (LuceneException &e) {
		std::fprintf(stderr, "lucene_peer: %ls\n", e.getError().c_str());
		lode_qnode_free(root);
		return -1;
	}
	lode_qnode_free(root);
	return 0;
}

int main(int argc, char **argv)
{
	static const peer_engine lucene = {
		"lucene", index_open, add, index_close, open_index, run,
	};

	return peer_main(argc, argv, &lucene);
}
