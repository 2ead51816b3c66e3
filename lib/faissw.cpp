// faissw: FAISS behind a C interface; see faissw.h. Every entry point catches what FAISS throws
// (faiss::FaissException, std::bad_alloc, ...) and turns it into -1 / NULL and fw_error().
#include <cmath>
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
#include <faiss/impl/io.h>
#include <faiss/index_factory.h>
#include <faiss/index_io.h>

#include "faissw.h"

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

static std::string err;

// run f, turning any exception into a return of bad with its message kept for fw_error
template <typename T, typename F>
static T
guard(T bad, F f)
{
	try {
		return f();
	} catch (const std::exception &e) {
		err = e.what();
	} catch (...) {
		err = "unknown C++ exception";
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
		memcpy(dst, p + at, want * size);
		at += want * size;
		return want;
	}
};

extern "C" {

const char *
fw_error(void)
{
	return err.c_str();
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
	err = "neither IVF nor HNSW";
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
		MemReader r(p, n);
		faiss::Index *ix = faiss::read_index(&r);
		if (r.at != n) {
			delete ix;
			err = "bytes left after the FAISS index";
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
		err = "not an IVF index";
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
		err = "not an IVF index";
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
				if (best[g] == -INFINITY)
					seen[ns++] = g;
				if (d > best[g])
					best[g] = d;
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
