// faissw: FAISS behind a C interface; see faissw.h. Every entry point catches what FAISS throws
// (faiss::FaissException, std::bad_alloc, ...) and turns it into -1 / NULL and fw_error().
#include <cmath>
#include <cstdio>
#include <cstdarg>
#include <cstdint>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>

#include <omp.h>

#include <faiss/Clustering.h>
#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVF.h>
#include <faiss/IndexIVFPQ.h>
#include <faiss/IndexPreTransform.h>
#include <faiss/impl/ProductQuantizer.h>
#include <faiss/impl/ScalarQuantizer.h>
#include <faiss/impl/io.h>
#include <faiss/index_factory.h>
#include <faiss/index_io.h>
#include <faiss/invlists/DirectMap.h>

#include "faissw.h"
#include "sq8nib.h"

struct FwIndex {
	faiss::Index *ix;
};

// a per-thread reader of an IVF index's lists (FAISS's scanners hold per-query state)
struct FwScan {
	const faiss::IndexIVF *ivf;
	faiss::InvertedListScanner *sc;
};

struct FwPQ {
	faiss::ProductQuantizer pq;
	FwPQ(int D, int m, int nbits) : pq(D, m, nbits) {}
};

// the reason of the last failure, in static storage: setting it allocates nothing that outlives
// the call
static char err[512];

static void
fail(const char *why)
{
	snprintf(err, sizeof(err), "%s", why);
}

// run f, turning any exception into a return of bad with its message kept for fw_error
template <typename T, typename F>
static T
guard(T bad, F f)
{
	try {
		return f();
	} catch (const std::exception &e) {
		fail(e.what());
	} catch (...) {
		fail("unknown C++ exception");
	}
	return bad;
}

// FAISS reads its serialisation through an IOReader; this one reads from memory in place (the
// mmapped index file) instead of VectorIOReader's copy
struct MemReader : faiss::IOReader {
	const char *p;
	size_t n, at = 0;
	MemReader(const void *p_, size_t n_) : p((const char *)p_), n(n_) { name = "index"; }
	size_t operator()(void *dst, size_t size, size_t nitems) override
	{
		size_t want = size ? nitems : 0, have = size ? (n - at) / size : 0;
		if (want > have)
			want = have;
		if (want)               // an empty vector's data() may be NULL
			memcpy(dst, p + at, want * size);
		at += want * size;
		return want;
	}
};

// ---- the serialisation checked before libfaiss reads it ----
// FAISS's reader (faiss/impl/index_read.cpp, 1.7.3) trusts what it reads: it resizes a vector to
// the count before it (anything below 2^40 elements) before reading the elements, builds as many
// inverted lists and sizes a product quantiser's centroids as the data claim, divides by a
// claimed sub-vector count, reads past a sparse list table of odd length, and knows dozens of
// index kinds (one opens a file the data names). Search then follows stored graph links and list
// rows unchecked. So fw_read first walks the bytes itself, for the kinds vindex writes only
// (IVF-Flat, -SQ8, -PQ over a flat inner-product quantiser with array lists; HNSW-Flat, -SQ8),
// allocating nothing from what it reads: each count is checked against the bytes left before
// anything follows it, each structural value against what reading and search rely on.

static constexpr uint64_t ANY = UINT64_MAX;      // vec: any count that fits

struct Walk {
	const char *p;
	size_t n, at, last;    // the bytes, where the walk is, where the last value read began

	[[noreturn]] void no(const char *fmt, ...) __attribute__((format(printf, 2, 3)))
	{
		char m[256];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(m, sizeof(m), fmt, ap);
		va_end(ap);
		throw std::runtime_error(std::string(m) + " (at byte " + std::to_string(last) + ")");
	}
	size_t left() const { return n - at; }
	const char *take(size_t bytes, const char *what)
	{
		const char *q = p + at;
		last = at;
		if (bytes > left())
			no("%s: %zu bytes, %zu left (truncated)", what, bytes, left());
		at += bytes;
		return q;
	}
	template <typename T> T get(const char *what)
	{
		T v;
		memcpy(&v, take(sizeof(v), what), sizeof(v));
		return v;
	}
	bool flag(const char *what)
	{
		uint8_t b = get<uint8_t>(what);
		if (b > 1)
			no("%s: %u is not a bool", what, b);
		return b;
	}
	void kind(const char *fourcc, const char *what)
	{
		uint32_t k = get<uint32_t>(what);
		if (k != faiss::fourcc(fourcc))
			no("%s: kind \"%s\", expected \"%s\"", what,
			   faiss::fourcc_inv_printable(k).c_str(), fourcc);
	}
	// element i of an array of T that vec or take returned (unaligned)
	template <typename T> T el(const char *base, uint64_t i)
	{
		T v;
		last = (size_t)(base - p) + i * sizeof(T);
		memcpy(&v, base + i * sizeof(T), sizeof(v));
		return v;
	}
	// a vector (FAISS's READVECTOR): its count of esize-byte elements, which must fit in the
	// bytes left and be want (unless ANY); its elements are skipped, their start returned
	const char *vec(size_t esize, uint64_t want, const char *what, uint64_t *count = nullptr)
	{
		uint64_t c = get<uint64_t>(what);
		if (c > left() / esize)
			no("%s: %llu elements of %zu bytes claimed, %zu bytes left", what,
			   (unsigned long long)c, esize, left());
		if (want != ANY && c != want)
			no("%s: %llu elements, expected %llu", what, (unsigned long long)c,
			   (unsigned long long)want);
		if (count)
			*count = c;
		return take(c * esize, what);
	}
};

struct Head {
	int32_t d;
	int64_t ntotal;
};

// faiss::Index's fields: a trained inner-product index of at most 2^31 - 1 vectors
static Head
head(Walk &w, const char *what)
{
	Head h;
	h.d = w.get<int32_t>(what);
	h.ntotal = w.get<int64_t>(what);
	if (h.d < 1 || h.ntotal < 0 || h.ntotal > INT32_MAX)
		w.no("%s: %lld vectors of dim %d", what, (long long)h.ntotal, h.d);
	w.get<int64_t>(what);          // two unused fields
	w.get<int64_t>(what);
	if (!w.flag(what))
		w.no("%s: not trained", what);
	if (w.get<int32_t>(what) != faiss::METRIC_INNER_PRODUCT)
		w.no("%s: metric not inner product", what);
	return h;
}

// the vectors of an IndexFlatIP, kind read; d and ntotal as expected
static void
flat(Walk &w, int32_t d, uint64_t ntotal, const char *what)
{
	Head h = head(w, what);
	if (h.d != d || (uint64_t)h.ntotal != ntotal)
		w.no("%s: %lld vectors of dim %d, expected %llu of dim %d", what, (long long)h.ntotal,
		     h.d, (unsigned long long)ntotal, d);
	w.vec(4, ntotal * (uint64_t)d, what);   // READXBVECTOR: counted in 4-byte words
}

// an 8-bit scalar quantiser of dim d (per-dimension min and range)
static void
sq8(Walk &w, int32_t d)
{
	const char *what = "scalar quantiser";
	int32_t qtype = w.get<int32_t>(what), rangestat = w.get<int32_t>(what);
	w.get<float>(what);
	uint64_t sd = w.get<uint64_t>(what), cs = w.get<uint64_t>(what);
	if (qtype != faiss::ScalarQuantizer::QT_8bit || rangestat < 0 ||
	    rangestat > faiss::ScalarQuantizer::RS_optim || sd != (uint64_t)d || cs != sd)
		w.no("%s: type %d of dim %llu, %llu bytes a code; expected 8-bit of dim %d", what,
		     qtype, (unsigned long long)sd, (unsigned long long)cs, d);
	w.vec(4, 2 * (uint64_t)d, "scalar quantiser ranges");
}

// an IndexIVF's fields, its quantiser (IndexFlatIP) and its direct map (none); returns nlist.
// nlist is bounded by the quantiser's vectors, which the bytes hold
static uint64_t
ivf(Walk &w, Head *h)
{
	*h = head(w, "IVF");
	uint64_t nlist = w.get<uint64_t>("IVF"), nprobe = w.get<uint64_t>("IVF");
	if (nlist < 1 || nprobe < 1 || nprobe > nlist)
		w.no("IVF: nprobe %llu of %llu lists", (unsigned long long)nprobe,
		     (unsigned long long)nlist);
	w.kind("IxFI", "IVF quantiser");
	flat(w, h->d, nlist, "IVF quantiser");
	if (w.get<uint8_t>("IVF direct map") != faiss::DirectMap::NoMap)
		w.no("IVF direct map: not none");
	w.vec(8, 0, "IVF direct map");
	return nlist;
}

// ArrayInvertedLists: nlist lists of codes of cs bytes, holding rows 0..ntotal-1 between them
static void
lists(Walk &w, uint64_t nlist, uint64_t cs, int64_t ntotal)
{
	const char *what = "inverted lists", *s;
	uint64_t c, total = 0;

	w.kind("ilar", what);
	uint64_t nl = w.get<uint64_t>(what), ncs = w.get<uint64_t>(what);
	if (nl != nlist || ncs != cs)
		w.no("%s: %llu lists of %llu-byte codes, expected %llu of %llu", what,
		     (unsigned long long)nl, (unsigned long long)ncs, (unsigned long long)nlist,
		     (unsigned long long)cs);
	std::vector<uint64_t> size(nlist);
	uint32_t type = w.get<uint32_t>(what);
	if (type == faiss::fourcc("full")) {
		s = w.vec(8, nlist, "list sizes");
		for (uint64_t l = 0; l < nlist; l++)
			size[l] = w.el<uint64_t>(s, l);
	} else if (type == faiss::fourcc("sprs")) {
		s = w.vec(8, ANY, "sparse list sizes", &c);
		if (c % 2)
			w.no("sparse list sizes: %llu values, not (list, size) pairs",
			     (unsigned long long)c);
		for (uint64_t j = 0; j < c; j += 2) {
			uint64_t l = w.el<uint64_t>(s, j);
			if (l >= nlist)
				w.no("sparse list sizes: list %llu of %llu", (unsigned long long)l,
				     (unsigned long long)nlist);
			size[l] = w.el<uint64_t>(s, j + 1);
		}
	} else
		w.no("%s: list type \"%s\"", what, faiss::fourcc_inv_printable(type).c_str());
	// FAISS sizes every list before reading any: their codes and ids must all fit
	for (uint64_t l = 0; l < nlist; l++) {
		if (size[l] > w.left() / (cs + 8))
			w.no("list %llu: %llu codes of %llu bytes claimed, %zu bytes left",
			     (unsigned long long)l, (unsigned long long)size[l], (unsigned long long)cs,
			     w.left());
		w.take(size[l] * cs, "list codes");
		s = w.take(size[l] * 8, "list ids");
		for (uint64_t j = 0; j < size[l]; j++) {
			int64_t r = w.el<int64_t>(s, j);
			if (r < 0 || r >= ntotal)
				w.no("list %llu: row %lld of %lld", (unsigned long long)l, (long long)r,
				     (long long)ntotal);
		}
		total += size[l];
	}
	if (total != (uint64_t)ntotal)
		w.no("%s: %llu rows, expected %lld", what, (unsigned long long)total,
		     (long long)ntotal);
}

// the HNSW graph of ntotal nodes: node i has levels[i] levels, its links at level l are
// links[offsets[i] + cum[l] .. offsets[i] + cum[l + 1]) (-1: none), and a node linked at level l
// has more than l levels, as search assumes when it walks them
static void
hnsw(Walk &w, int64_t ntotal)
{
	uint64_t nc, nlink, o = 0;
	w.vec(8, ANY, "HNSW level probabilities");
	const char *cum = w.vec(4, ANY, "HNSW links per level", &nc);
	const char *lev = w.vec(4, (uint64_t)ntotal, "HNSW levels");
	const char *off = w.vec(8, (uint64_t)ntotal + 1, "HNSW offsets");
	const char *link = w.vec(4, ANY, "HNSW links", &nlink);
	int32_t entry = w.get<int32_t>("HNSW entry point"), maxl = w.get<int32_t>("HNSW top level");
	if (ntotal ? entry < 0 || entry >= ntotal || maxl != w.el<int32_t>(lev, entry) - 1 :
	             entry != -1)
		w.no("HNSW: entry point %d at level %d", entry, maxl);
	for (int i = 0; i < 3; i++) {  // efConstruction, efSearch, upper_beam
		int32_t ef = w.get<int32_t>("HNSW");
		if (ef < 1 || ef > FW_EF_MAX)
			w.no("HNSW: search width %d", ef);
	}
	// links per level: from 0, non-decreasing (so every level's range below lies in its node's)
	if (nc < 2 || w.el<int32_t>(cum, 0) != 0)
		w.no("HNSW links per level: %llu levels", (unsigned long long)nc);
	for (uint64_t l = 1; l < nc; l++)
		if (w.el<int32_t>(cum, l) < w.el<int32_t>(cum, l - 1))
			w.no("HNSW links per level: decreasing at level %llu", (unsigned long long)l);
	// each node's offsets span exactly its levels' links, the last ending at the links' end
	for (int64_t i = 0; i <= ntotal; i++) {
		if (w.el<uint64_t>(off, i) != o)
			w.no("HNSW node %lld: offset %llu, expected %llu", (long long)i,
			     (unsigned long long)w.el<uint64_t>(off, i), (unsigned long long)o);
		if (i == ntotal)
			break;
		int32_t L = w.el<int32_t>(lev, i);
		if (L < 1 || (uint64_t)L >= nc)
			w.no("HNSW node %lld: %d levels of %llu", (long long)i, L,
			     (unsigned long long)nc - 1);
		o += (uint64_t)w.el<int32_t>(cum, L);
	}
	if (o != nlink)
		w.no("HNSW offsets: end at %llu of %llu links", (unsigned long long)o,
		     (unsigned long long)nlink);
	for (int64_t i = 0; i < ntotal; i++) {
		int32_t L = w.el<int32_t>(lev, i);
		uint64_t base = w.el<uint64_t>(off, i);
		for (int32_t l = 0; l < L; l++) {
			uint64_t end = base + (uint64_t)w.el<int32_t>(cum, l + 1);
			for (uint64_t k = base + (uint64_t)w.el<int32_t>(cum, l); k < end; k++) {
				int32_t v = w.el<int32_t>(link, k);
				if (v != -1 && (v < 0 || v >= ntotal || w.el<int32_t>(lev, v) <= l))
					w.no("HNSW node %lld: link to %d at level %d", (long long)i, v, l);
			}
		}
	}
}

// the whole structure: one of the kinds vindex writes, and nothing after it
static void
walk(const void *p, size_t n)
{
	Walk w{ (const char *)p, n, 0, 0 };
	Head h;
	uint64_t nlist, cs;
	uint32_t k = w.get<uint32_t>("FAISS index");

	if (k == faiss::fourcc("IwFl")) {             // IVF-Flat
		nlist = ivf(w, &h);
		lists(w, nlist, 4 * (uint64_t)h.d, h.ntotal);
	} else if (k == faiss::fourcc("IwSq")) {      // IVF-SQ8
		nlist = ivf(w, &h);
		sq8(w, h.d);
		if (w.get<uint64_t>("IVF-SQ") != (uint64_t)h.d)
			w.no("IVF-SQ: code size not the dim");
		w.flag("IVF-SQ");
		lists(w, nlist, (uint64_t)h.d, h.ntotal);
	} else if (k == faiss::fourcc("IwPQ")) {      // IVF-PQ
		nlist = ivf(w, &h);
		w.flag("IVF-PQ");
		cs = w.get<uint64_t>("IVF-PQ");
		const char *what = "product quantiser";
		uint64_t d = w.get<uint64_t>(what);
		if (d != (uint64_t)h.d)
			w.no("%s: dim %llu, expected %d", what, (unsigned long long)d, h.d);
		uint64_t m = w.get<uint64_t>(what);
		if (m < 1 || d % m)
			w.no("%s: %llu sub-vectors do not divide dim %llu", what, (unsigned long long)m,
			     (unsigned long long)d);
		uint64_t nbits = w.get<uint64_t>(what);
		if (nbits < 1 || nbits > 16 || cs != (m * nbits + 7) / 8)
			w.no("%s: %llu bits a sub-vector, codes of %llu bytes for %llu", what,
			     (unsigned long long)nbits, (unsigned long long)cs, (unsigned long long)m);
		// FAISS allocates them from d and nbits before reading their count
		w.vec(4, d << nbits, "product quantiser centroids");
		lists(w, nlist, cs, h.ntotal);
	} else if (k == faiss::fourcc("IHNf") || k == faiss::fourcc("IHNs")) {   // HNSW-Flat, -SQ8
		h = head(w, "HNSW");
		hnsw(w, h.ntotal);
		if (k == faiss::fourcc("IHNf")) {
			w.kind("IxFI", "HNSW storage");
			flat(w, h.d, (uint64_t)h.ntotal, "HNSW storage");
		} else {
			w.kind("IxSQ", "HNSW storage");
			Head s = head(w, "HNSW storage");
			if (s.d != h.d || s.ntotal != h.ntotal)
				w.no("HNSW storage: %lld vectors of dim %d, expected %lld of dim %d",
				     (long long)s.ntotal, s.d, (long long)h.ntotal, h.d);
			sq8(w, h.d);
			w.vec(1, (uint64_t)h.ntotal * h.d, "HNSW storage codes");
		}
	} else
		w.no("kind \"%s\" is not one prvr-index writes", faiss::fourcc_inv_printable(k).c_str());
	if (w.left())
		w.no("%zu bytes after the FAISS index", w.left());
}

extern "C" {

const char *
fw_error(void)
{
	return err;
}

void
fw_threads(int n)
{
	omp_set_num_threads(n);
}

FwIndex *
fw_new(int D, const char *spec)
{
	return guard<FwIndex *>(nullptr, [&] {
		faiss::Index *ix = faiss::index_factory(D, spec, faiss::METRIC_INNER_PRODUCT);
		// FAISS warns on every k-means run with under 39 points a centroid (once per
		// sub-quantizer): vindex warns once instead
		if (auto *ivf = dynamic_cast<faiss::IndexIVF *>(ix)) {
			ivf->cp.min_points_per_centroid = 1;
			// the factory turns on polysemous training (a code order for Hamming
			// filtering, which we do not search with): minutes of annealing, no use
			if (auto *pq = dynamic_cast<faiss::IndexIVFPQ *>(ix)) {
				pq->pq.cp.min_points_per_centroid = 1;
				pq->do_polysemous_training = false;
			}
		}
		return new FwIndex{ ix };
	});
}

int
fw_is_trained(const FwIndex *x)
{
	return x->ix->is_trained;
}

int
fw_train(FwIndex *x, long n, const float *v)
{
	return guard(-1, [&] { x->ix->train(n, v); return 0; });
}

int
fw_add(FwIndex *x, long n, const float *v)
{
	return guard(-1, [&] { x->ix->add(n, v); return 0; });
}

long
fw_ntotal(const FwIndex *x)
{
	return (long)x->ix->ntotal;
}

int
fw_dim(const FwIndex *x)
{
	return (int)x->ix->d;
}

long
fw_nlist(const FwIndex *x)
{
	auto *ivf = dynamic_cast<const faiss::IndexIVF *>(x->ix);

	return ivf ? (long)ivf->nlist : -1;
}

int
fw_set(FwIndex *x, int nprobe, int efsearch)
{
	if (auto *ivf = dynamic_cast<faiss::IndexIVF *>(x->ix)) {
		if (nprobe > 0)
			ivf->nprobe = (size_t)nprobe;
		return 0;
	}
	if (auto *h = dynamic_cast<faiss::IndexHNSW *>(x->ix)) {
		if (efsearch > 0)
			h->hnsw.efSearch = efsearch;
		return 0;
	}
	fail("neither IVF nor HNSW");
	return -1;
}

int
fw_search(const FwIndex *x, long nq, const float *q, int k, float *score, int64_t *row)
{
	static_assert(sizeof(faiss::Index::idx_t) == sizeof(int64_t), "FAISS ids are 64-bit");
	return guard(-1, [&] {
		// HNSW returns at most efSearch results
		if (auto *h = dynamic_cast<faiss::IndexHNSW *>(x->ix))
			if (h->hnsw.efSearch < k)
				h->hnsw.efSearch = k;
		x->ix->search(nq, q, k, score, (faiss::Index::idx_t *)row);
		return 0;
	});
}

int
fw_write(const FwIndex *x, FILE *f)
{
	return guard(-1, [&] {
		faiss::FileIOWriter w(f);
		faiss::write_index(x->ix, &w);
		return 0;
	});
}

FwIndex *
fw_read(const void *p, size_t n)
{
	return guard<FwIndex *>(nullptr, [&] {
		walk(p, n);
		MemReader r(p, n);
		faiss::Index *ix = faiss::read_index(&r);
		if (r.at != n) {        // libfaiss read other than walk did: a FAISS of another format
			delete ix;
			fail("FAISS read other than checked (another FAISS version?)");
			return (FwIndex *)nullptr;
		}
		return new FwIndex{ ix };
	});
}

int
fw_probe(const FwIndex *x, long nq, const float *q, int nprobe, float *score, int64_t *list)
{
	auto *ivf = dynamic_cast<const faiss::IndexIVF *>(x->ix);

	if (!ivf) {
		fail("not an IVF index");
		return -1;
	}
	return guard(-1, [&] {
		ivf->quantizer->search(nq, q, nprobe, score, (faiss::Index::idx_t *)list);
		return 0;
	});
}

FwScan *
fw_scan_new(const FwIndex *x)
{
	auto *ivf = dynamic_cast<const faiss::IndexIVF *>(x->ix);

	if (!ivf) {
		fail("not an IVF index");
		return nullptr;
	}
	return guard<FwScan *>(nullptr, [&] {
		return new FwScan{ ivf, ivf->get_InvertedListScanner(false) };
	});
}

long
fw_scan_max(FwScan *s, const float *q, int n, const int64_t *list, const float *lscore,
            const int32_t *grp, long nrow, float *best, int32_t *seen, long nseen)
{
	return guard(-1L, [&] {
		const faiss::InvertedLists *il = s->ivf->invlists;
		long ns = nseen;
		s->sc->set_query(q);
		for (int l = 0; l < n; l++) {
			if (list[l] < 0)
				continue;
			size_t m = il->list_size(list[l]), cs = il->code_size;
			faiss::InvertedLists::ScopedCodes codes(il, list[l]);
			faiss::InvertedLists::ScopedIds ids(il, list[l]);
			s->sc->set_list(list[l], lscore[l]);
			for (size_t j = 0; j < m; j++) {
				faiss::Index::idx_t r = ids[j];
				if (r < 0 || r >= nrow)
					throw std::runtime_error("a list holds a row out of range");
				int32_t g = grp[r];
				float d = s->sc->distance_to_code(codes.get() + j * cs);
				// appended only when raised: a NaN or -inf score (a damaged index's
				// codes) leaves best at -inf, and g must not be appended twice
				ns = best_raise(best, seen, ns, g, d);
			}
		}
		return ns;
	});
}

void
fw_scan_free(FwScan *s)
{
	if (s)
		delete s->sc;
	delete s;
}

void
fw_free(FwIndex *x)
{
	if (x)
		delete x->ix;
	delete x;
}

int
fw_kmeans(int D, int k, long n, const float *v, int niter, float *centroids)
{
	return guard(-1, [&] {
		faiss::ClusteringParameters cp;
		cp.niter = niter;
		cp.spherical = true;
		cp.min_points_per_centroid = 1;
		faiss::Clustering km(D, k, cp);
		faiss::IndexFlatIP ix(D);
		km.train(n, v, ix);
		memcpy(centroids, km.centroids.data(), (size_t)k * D * sizeof(float));
		return 0;
	});
}

FwPQ *
fw_pq_new(int D, int m, int nbits)
{
	return guard<FwPQ *>(nullptr, [&] {
		FwPQ *p = new FwPQ(D, m, nbits);
		p->pq.cp.min_points_per_centroid = 1;
		return p;
	});
}

int
fw_pq_train(FwPQ *p, long n, const float *v, float *centroids)
{
	return guard(-1, [&] {
		p->pq.train(n, v);
		memcpy(centroids, p->pq.centroids.data(), p->pq.centroids.size() * sizeof(float));
		return 0;
	});
}

int
fw_pq_encode(const FwPQ *p, long n, const float *v, uint8_t *codes)
{
	return guard(-1, [&] { p->pq.compute_codes(v, codes, n); return 0; });
}

void
fw_pq_free(FwPQ *p)
{
	delete p;
}

} // extern "C"
