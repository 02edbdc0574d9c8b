/*
 * xapian_peer.cc -- Xapian as a measuring instrument for lode bench.
 *
 * Documents are tokenized by lode's own tokenizer (no stemming) and added
 * with their positions, so both engines index the same terms; queries are
 * parsed by lode's parser and the tree is turned into a Xapian::Query
 * (OP_AND, OP_OR, OP_AND_NOT, OP_PHRASE; a leading NOT is MatchAll AND_NOT),
 * so both answer the same question.  Mode all and count use BoolWeight in
 * docid order; top10 uses BM25 with k1 = 1.2, b = 0.75, as lode.  The time
 * of a run covers parsing and the whole answer.  See peer.h.
 */
#include <xapian.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

extern "C" {
#include "peer.h"
#include "query.h"
#include "tokenizer.h"
}

static std::unique_ptr<Xapian::WritableDatabase> writer;
static std::unique_ptr<Xapian::Database> reader;

static int index_open(const char *path)
{
	try {
		writer.reset(new Xapian::WritableDatabase(
			path, Xapian::DB_CREATE_OR_OVERWRITE));
	} catch (const Xapian::Error &e) {
		std::fprintf(stderr, "xapian_peer: %s\n", e.get_description().c_str());
		return -1;
	}
	return 0;
}

static int on_token(void *ctx, const char *term, size_t len, uint32_t pos,
                    size_t, size_t)
{
	static_cast<Xapian::Document *>(ctx)->add_posting(std::string(term, len),
	                                                  pos + 1);
	return 0;
}

static int add(int64_t id, const char *text, size_t len)
{
	Xapian::Document doc;

	lode_tokenize(text, len, on_token, &doc);
	writer->replace_document(static_cast<Xapian::docid>(id + 1), doc);
	return 0;
}

static int index_close(void)
{
	writer->commit();
	writer.reset();
	return 0;
}

static int open_index(const char *path)
{
	try {
		reader.reset(new Xapian::Database(path));
	} catch (const Xapian::Error &e) {
		std::fprintf(stderr, "xapian_peer: %s\n", e.get_description().c_str());
		return -1;
	}
	return 0;
}

static Xapian::Query convert(const lode_qnode *q)
{
	std::vector<Xapian::Query> sub;

	switch (q->kind) {
	case LODE_Q_PHRASE: {
		std::vector<std::string> terms;
		for (size_t i = 0; i < q->nterms; i++)
			terms.emplace_back(q->terms[i], q->term_len[i]);
		if (terms.size() == 1)
			return Xapian::Query(terms[0]);
		return Xapian::Query(Xapian::Query::OP_PHRASE, terms.begin(),
		                     terms.end(), static_cast<Xapian::termcount>(terms.size()));
	}
	case LODE_Q_NOT:
		return Xapian::Query(Xapian::Query::OP_AND_NOT, Xapian::Query::MatchAll,
		                     convert(q->child[0]));
	case LODE_Q_ANDNOT:
		return Xapian::Query(Xapian::Query::OP_AND_NOT, convert(q->child[0]),
		                     convert(q->child[1]));
	case LODE_Q_AND:
	case LODE_Q_OR:
		for (size_t i = 0; i < q->nchild; i++)
			sub.push_back(convert(q->child[i]));
		return Xapian::Query(q->kind == LODE_Q_AND ? Xapian::Query::OP_AND
		                                           : Xapian::Query::OP_OR,
		                     sub.begin(), sub.end());
	}
	return Xapian::Query();
}

static int run(const char *text, enum peer_mode mode, struct peer_answer *a)
{
	lode_qnode *root;
	lode_error err;

	if (lode_qnode_parse(text, std::strlen(text), &root, &err))
		return -1;
	try {
		Xapian::Enquire enquire(*reader);
		Xapian::doccount n = reader->get_doccount();
		enquire.set_query(convert(root));
		if (mode == PEER_TOP10) {
			enquire.set_weighting_scheme(Xapian::BM25Weight(1.2, 0, 1, 0.75, 0.5));
			n = 10;
		} else {
			enquire.set_weighting_scheme(Xapian::BoolWeight());
			enquire.set_docid_order(Xapian::Enquire::ASCENDING);
		}
		Xapian::MSet mset = enquire.get_mset(0, n);
		if (mode == PEER_COUNT)
			a->count = mset.size();
		else
			for (auto it = mset.begin(); it != mset.end(); ++it)
				peer_answer_add(a, *it - 1);
	} catch (const Xapian::Error &e) {
		std::fprintf(stderr, "xapian_peer: %s\n", e.get_description().c_str());
		lode_qnode_free(root);
		return -1;
	}
	lode_qnode_free(root);
	return 0;
}

int main(int argc, char **argv)
{
	static const peer_engine xapian = {
		"xapian", index_open, add, index_close, open_index, run,
	};

	return peer_main(argc, argv, &xapian);
}
