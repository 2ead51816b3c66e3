/* trainlog: the train-log stream (schemas/train-log.md) that distill-step and de-train write:
 * the header (the run's configuration, packed from its option table, and eval_loss), one record
 * per step with the loss components the trainer names, one per epoch with its validation. A
 * resumed run continues the log it left (the header and the records of the epochs before the
 * resumed one, copied). Written atomically when closed (mpw_close).
 * Not here: what the components are (the trainers), the option tables (lib/opts). */
#ifndef TRAINLOG_H
#define TRAINLOG_H

#include "evalm.h"
#include "mpio.h"
#include "opts.h"

typedef struct {
	const char *key;
	double value;
} LogPart;

/* NULL when path is NULL (the calls below then do nothing); resumed_epoch > 0: an existing
 * log at path (not "-") continues */
MpWriter *trainlog_open(const char *path, const OptDesc *t, int nt, const void *cfg, int eval_loss,
                        long resumed_epoch);
/* {type "step", epoch, step, lr, kd_weight, loss, part[0..n)} */
void trainlog_step(MpWriter *w, long epoch, long step, double lr, double kd_weight, double loss,
                   const LogPart *part, int n);
/* {type "epoch", epoch, step, loss, [val_* of val], [val_sumr_inh, val_sumr_exp from
 * sumr_branch], best, seconds}; val and sumr_branch may be NULL */
void trainlog_epoch(MpWriter *w, long epoch, long step, double loss, const Metrics *val,
                    const double *sumr_branch, int best, double seconds);

#endif
