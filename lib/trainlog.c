/* trainlog: the train-log stream of the trainers; see trainlog.h. */
#include <string.h>
#include <unistd.h>

#include "schema.h"
#include "trainlog.h"

MpWriter *
trainlog_open(const char *path, const OptDesc *t, int nt, const void *cfg, int eval_loss,
              long resumed_epoch)
{
	MpWriter *w;

	if (!path)
		return NULL;
	w = mpw_open(path, 0);
	if (resumed_epoch > 0 && strcmp(path, "-") != 0 && access(path, F_OK) == 0) {
		MpReader *r = mpr_open(path);
		const msgpack_object *o;
		mpw_copy(w, schema_header(r, "train-log"));
		while ((o = mpr_next(r)))
			if (mpr_int(r, o, "epoch") < resumed_epoch)
				mpw_copy(w, o);
		mpr_close(r);
		return w;
	}
	mpw_header(w, "train-log", -1, 2);
	mpw_key(w, "config");
	opts_pack(w, t, nt, cfg);
	mpw_kv_bool(w, "eval_loss", eval_loss);
	mpw_record_done(w);
	return w;
}

void
trainlog_step(MpWriter *w, long epoch, long step, double lr, double kd_weight, double loss,
              const LogPart *part, int n)
{
	if (!w)
		return;
	mpw_map(w, 6 + (size_t)n);
	mpw_kv_str(w, "type", "step");
	mpw_kv_int(w, "epoch", epoch);
	mpw_kv_int(w, "step", step);
	mpw_kv_f64(w, "lr", lr);
	mpw_kv_f64(w, "kd_weight", kd_weight);
	mpw_kv_f64(w, "loss", loss);
	for (int i = 0; i < n; i++)
		mpw_kv_f64(w, part[i].key, part[i].value);
	mpw_record_done(w);
}

void
trainlog_epoch(MpWriter *w, long epoch, long step, double loss, const Metrics *val,
               const double *sumr_branch, int best, double seconds)
{
	if (!w)
		return;
	mpw_map(w, 6 + (val ? 8 : 0) + (sumr_branch ? 2 : 0));
	mpw_kv_str(w, "type", "epoch");
	mpw_kv_int(w, "epoch", epoch);
	mpw_kv_int(w, "step", step);
	mpw_kv_f64(w, "loss", loss);
	if (val) {
		mpw_kv_f64(w, "val_r1", val->r1);
		mpw_kv_f64(w, "val_r5", val->r5);
		mpw_kv_f64(w, "val_r10", val->r10);
		mpw_kv_f64(w, "val_r100", val->r100);
		mpw_kv_f64(w, "val_sumr", val->sumr);
		mpw_kv_f64(w, "val_medr", val->medr);
		mpw_kv_f64(w, "val_meanr", val->meanr);
		mpw_kv_f64(w, "val_map", val->map);
	}
	if (sumr_branch) {
		mpw_kv_f64(w, "val_sumr_inh", sumr_branch[0]);
		mpw_kv_f64(w, "val_sumr_exp", sumr_branch[1]);
	}
	mpw_kv_bool(w, "best", best);
	mpw_kv_f64(w, "seconds", seconds);
	mpw_record_done(w);
}
