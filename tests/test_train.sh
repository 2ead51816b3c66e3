#!/bin/sh
# test_train: distill-step, encode-video and encode-text end to end on the tvr-tiny synthetic
# corpus (prvr-synth -> feat-reduce -> teacher-sim -> distill-step -> encode-* -> rank -> metrics)
# with a small dual-branch model. Checks: the training loss falls; the test SumR of the trained
# model is far above chance; the same seed and threads give byte-identical checkpoints; resuming
# from epoch k's checkpoint gives the same checkpoints as not stopping; --eval-loss reproduces
# the logged loss components of a step; --preset dldkd++:DATASET (DL-DKD++) sets the release's
# configuration, read back from the checkpoint, with options given winning, and trains
# reproducibly with the soft InfoNCE logged; bad inputs exit 1 and leave no output behind.
# Every tool it needs must exist: a missing one is a failure, not a skip.
set -u
: "${BIN:=bin}"
BIN=$(cd "$BIN" && pwd) || exit 1
fail=0
ok() { echo "OK $*"; }
notok() { echo "NOT OK $*"; fail=1; }

for t in prvr-synth feat-reduce teacher-sim distill-step encode-video encode-text rank metrics \
    prvr-cat; do
	[ -x "$BIN/$t" ] || { echo "NOT OK $BIN/$t does not exist"; exit 1; }
done
T=$(mktemp -d) || exit 1
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1

# fewer epochs under the sanitizers (several times slower)
EPOCHS=16 ABOVE=40
[ "${PRVR_SANITIZED:-0}" = 1 ] && EPOCHS=12
K=$((EPOCHS / 2))

# an easy world (few concepts, no near-duplicate events, queries name every concept), so the
# SumR check measures whether training works rather than how hard the preset's world is
"$BIN"/prvr-synth -p tvr-tiny -s 3 --concepts 4 --hard 0 --mention 1 -o corpus -q ||
	{ echo "NOT OK prvr-synth"; exit 1; }
for s in train val test; do
	for x in video-student query-student video-teacher query-teacher; do
		"$BIN"/feat-reduce < corpus/$s-$x.mp > $s-$x.mp 2>/dev/null ||
			{ echo "NOT OK feat-reduce $s-$x"; exit 1; }
	done
done
for s in train val; do
	"$BIN"/teacher-sim -v $s-video-teacher.mp -q $s-query-teacher.mp > $s-tsim.mp 2>/dev/null ||
		{ echo "NOT OK teacher-sim $s"; exit 1; }
done

DATA="-v ../train-video-student.mp -q ../train-query-student.mp -t ../train-tsim.mp"
VAL="--val-video ../val-video-student.mp --val-query ../val-query-student.mp"
OPTS="--hidden 32 --heads 2 --batch 16 --lr 2e-3 --epochs $EPOCHS --patience $EPOCHS --seed 5 -j 1"

# the value of "key" in the JSON lines of prvr-cat on stdin, one per line
field() { sed -n "s/.*\"$1\":\([-0-9.eE+]*\).*/\1/p"; }

# ---- training, twice with the same command line in two directories
mkdir a b c d e
(cd a && "$BIN"/distill-step $DATA $VAL $OPTS -o ck.mp -l log.mp --save-every-epoch ep 2>err) ||
	{ cat a/err; echo "NOT OK training run a"; exit 1; }
(cd b && "$BIN"/distill-step $DATA $VAL $OPTS -o ck.mp -l log.mp --save-every-epoch ep 2>err) ||
	{ cat b/err; echo "NOT OK training run b"; exit 1; }
if cmp -s a/ck.mp b/ck.mp && cmp -s a/ep/epoch-$EPOCHS.mp b/ep/epoch-$EPOCHS.mp; then
	ok "same seed and threads: identical checkpoints"
else
	notok "same seed and threads: checkpoints differ"
fi

# ---- the loss falls: last epoch's mean loss well below the first's
"$BIN"/prvr-cat < a/log.mp | grep '"type":"epoch"' | field loss > losses
first=$(head -n 1 losses)
last=$(tail -n 1 losses)
nepoch=$(wc -l < losses)
if [ "$nepoch" -eq "$EPOCHS" ] && awk -v f="$first" -v l="$last" 'BEGIN { exit !(l < 0.6 * f) }'; then
	ok "loss falls: $first -> $last over $nepoch epochs"
else
	notok "loss does not fall: $first -> $last over $nepoch epochs"
fi
# step records: loss = sum of the weighted components (inh distilled, exp not)
"$BIN"/prvr-cat < a/log.mp | grep '"type":"step"' | sed -n 7p > step7
if awk -v s="$(cat step7)" 'BEGIN {
	n = split(s, kv, ",");
	for (i = 1; i <= n; i++) { split(kv[i], p, ":"); gsub(/[{}" ]/, "", p[1]); gsub(/[{}]/, "", p[2]); v[p[1]] = p[2] + 0 }
	t = v["inh_trip_t2v"] + v["inh_trip_v2t"] + 0.04 * (v["inh_nce_t2v"] + v["inh_nce_v2t"]) \
	  + v["exp_trip_t2v"] + v["exp_trip_v2t"] + 0.04 * (v["exp_nce_t2v"] + v["exp_nce_v2t"]) \
	  + v["kd_weight"] * v["inh_kd"];
	d = t - v["loss"]; if (d < 0) d = -d;
	exit !(v["exp_kd"] == 0 && v["inh_kd"] > 0 && d < 1e-4 * (1 + v["loss"]) && v["lr"] > 0) }'; then
	ok "step record: loss is the weighted sum of its components"
else
	notok "step record: $(cat step7)"
fi

# ---- test metrics of the last checkpoint (selection on 30 validation videos is noisy): far
# above chance
"$BIN"/encode-video -c a/ep/epoch-$EPOCHS.mp -o test-enc-v.mp < test-video-student.mp 2>/dev/null &&
"$BIN"/encode-text -c a/ep/epoch-$EPOCHS.mp -o test-enc-q.mp < test-query-student.mp 2>/dev/null &&
"$BIN"/rank -v test-enc-v.mp -q test-enc-q.mp 2>/dev/null | "$BIN"/metrics -f json -q > test.json ||
	notok "encode/rank/metrics pipeline failed"
# rank -V (the videos streamed, here from a pipe) gives the default order's ranking: every value
# equal (tests/test_rank.sh checks the bytes)
nocmd() { "$BIN"/prvr-cat -a "$1" | sed '1s/"cmd":"[^"]*",//'; }
if "$BIN"/rank -Q -v test-enc-v.mp -q test-enc-q.mp -o rk.mp &&
   cat test-enc-v.mp | "$BIN"/rank -Q -V -v - -q test-enc-q.mp -o rkv.mp &&
   [ "$(nocmd rk.mp)" = "$(nocmd rkv.mp)" ] && [ "$(nocmd rk.mp | wc -l)" -gt 1 ]; then
	ok "rank -V on the trained encodings = rank"
else
	notok "rank -V on the trained encodings differs from rank"
fi
nv=$("$BIN"/prvr-cat < test-enc-v.mp | head -n 1 | field count)
sumr=$(field sumr < test.json)
chance=$(awk -v n="$nv" 'BEGIN { s = 0; split("1 5 10 100", k, " ");
	for (i = 1; i <= 4; i++) s += (k[i] < n ? k[i] : n) / n * 100; print s }')
if [ -n "$sumr" ] && awk -v s="$sumr" -v c="$chance" -v a="$ABOVE" 'BEGIN { exit !(s > c + a) }'; then
	ok "test SumR $sumr on $nv videos (chance $chance, required chance + $ABOVE)"
else
	notok "test SumR '$sumr' on $nv videos not far above chance $chance"
fi
if "$BIN"/prvr-cat < test-enc-v.mp | sed -n 2p | grep -q '"inh":{"f32":' &&
   "$BIN"/prvr-cat < test-enc-q.mp | head -n 1 | grep -q '"dim":32,"branches":\["inh","exp"\]'; then
	ok "encoded streams carry both branches at dim 32"
else
	notok "encoded streams lack a branch or have the wrong dim"
fi

# ---- resume from epoch K: the same checkpoints as the uninterrupted run
# (as after a crash: CKPT holds the best checkpoint the interrupted run had written)
cp a/ck.mp c/ck.mp
(cd c && "$BIN"/distill-step $DATA $VAL $OPTS -o ck.mp --save-every-epoch ep \
    --resume ../a/ep/epoch-$K.mp 2>err) || { cat c/err; notok "resumed run failed"; }
if cmp -s a/ep/epoch-$EPOCHS.mp c/ep/epoch-$EPOCHS.mp && cmp -s a/ck.mp c/ck.mp; then
	ok "resume from epoch $K: identical final and best checkpoints"
else
	notok "resume from epoch $K: checkpoints differ"
fi

# ---- --eval-loss on epoch 1's checkpoint reproduces the log's first step of epoch 2
(cd d && "$BIN"/distill-step $DATA $OPTS --epochs 2 --deterministic -o ck.mp -l log.mp \
    --save-every-epoch ep 2>err &&
  "$BIN"/distill-step $DATA --resume ep/epoch-1.mp --eval-loss -j 1 -l eval.mp 2>err) ||
	{ cat d/err; notok "deterministic run or --eval-loss failed"; }
spe=$("$BIN"/prvr-cat < d/log.mp | head -n 1 | field steps_per_epoch)
"$BIN"/prvr-cat < d/log.mp | grep "\"type\":\"step\",\"epoch\":1,\"step\":$((spe + 1))," > want
"$BIN"/prvr-cat < d/eval.mp | grep '"type":"step"' | head -n 1 > got
if [ -s want ] && cmp -s want got; then
	ok "--eval-loss reproduces step $((spe + 1)): $(field loss < got)"
else
	notok "--eval-loss: got '$(cat got)' want '$(cat want)'"
fi

# ---- every branch preset, and feature distillation: which branches exist and are distilled
# (kd of the first step: + positive, 0 zero, - no such branch)
sign() { awk '{ print ($0 == "" ? "-" : ($0 + 0 > 0 ? "+" : "0")) } END { if (NR == 0) print "-" }'; }
preset() {
	want=$1
	shift
	(cd f && "$BIN"/distill-step $DATA --hidden 16 --heads 2 --batch 16 --epochs 1 -j 1 \
	    -o p.mp -l p.log "$@" 2>err) || { cat f/err; notok "preset $*: failed"; return; }
	br=$("$BIN"/prvr-cat < f/p.mp | head -n 1 | sed -n 's/.*"model_branches":\[\([^]]*\)\].*/\1/p')
	"$BIN"/prvr-cat < f/p.log | grep '"type":"step"' | head -n 1 > f/step1
	got="$br inh$(field inh_kd < f/step1 | sign) exp$(field exp_kd < f/step1 | sign)"
	if [ "$got" = "$want" ]; then
		ok "preset $*: $got"
	else
		notok "preset $*: got '$got' want '$want'"
	fi
}
mkdir f
preset '"inh" inh+ exp-' --branches inh
preset '"exp" inh- exp0' --branches exp
preset '"inh","exp" inh0 exp0' --branches dual-exp
preset '"inh","exp" inh+ exp+' --branches dual-inh
preset '"inh","exp" inh0 exp0' --schedule none
preset '"inh","exp" inh+ exp0' --kd feat -T ../train-video-teacher.mp
preset '"inh","exp" inh+ exp0' --kd-loss mse --schedule sigmoid --shared-query-proj

# ---- DL-DKD++: each --preset dldkd++:DATASET's settings in the checkpoint's config (options
# given win: --epochs, and --lr for activitynet); two runs byte-identical; the soft InfoNCE
# (both directions in _nce_t2v, _nce_v2t 0) logged for both branches
mkdir g
PP="-v ../../train-video-student.mp -q ../../train-query-student.mp -t ../../train-tsim.mp
    -T ../../train-video-teacher.mp --teacher-query ../../train-query-teacher.mp --hidden 16
    --heads 2 --batch 16 --epochs 2 -j 1"
# config value of key $2 in the checkpoint file $1
cfg() { "$BIN"/prvr-cat < "$1" | head -n 1 | sed -n "s/.*\"config\":{//; s/.*\"$2\":\([^,}]*\).*/\1/p"; }
n=0
for p in tvr:3e-4:0.2:0.1 activitynet:1e-3:0.25:0.2 activitynet:1e-3:0.25:0.2 charades:2.4e-4:0.15:0.2; do
	set -- $(echo "$p" | tr : ' ')
	lr=; [ "$1" = activitynet ] && lr="--lr 1e-3"
	n=$((n + 1))
	mkdir g/$n
	(cd g/$n && "$BIN"/distill-step $PP --preset dldkd++:$1 $lr -o pp.mp -l pp.log 2>err) ||
		{ cat g/$n/err; notok "--preset dldkd++:$1 failed"; continue; }
	got="$(cfg g/$n/pp.mp preset) $(cfg g/$n/pp.mp soft_align) $(cfg g/$n/pp.mp soft_detach)"
	got="$got $(cfg g/$n/pp.mp branches) $(cfg g/$n/pp.mp shared_query_proj) $(cfg g/$n/pp.mp kd)"
	got="$got $(cfg g/$n/pp.mp kd_loss) $(cfg g/$n/pp.mp schedule) $(cfg g/$n/pp.mp epochs)"
	got="$got $(cfg g/$n/pp.mp seed) $(cfg g/$n/pp.mp teacher_dim)"
	want="\"dldkd++:$1\" true false \"dual\" false \"sim\" \"kl\" \"exp\" 2 9527 32"
	if [ "$got" = "$want" ] && awk -v lr="$(cfg g/$n/pp.mp lr)" -v dr="$(cfg g/$n/pp.mp dropout)" \
	    -v m="$(cfg g/$n/pp.mp margin)" -v b="$(cfg g/$n/pp.mp beta)" -v wlr="$2" -v wdr="$3" \
	    -v wm="$4" 'function near(a, b) { return a - b < 1e-7 && b - a < 1e-7 }
	    BEGIN { exit !(near(lr, wlr) && near(dr, wdr) && near(m, wm) && near(b, 0.3)) }'; then
		ok "--preset dldkd++:$1${lr:+ $lr}: lr $2, dropout $3, margin $4, beta 0.3, $got"
	else
		notok "--preset dldkd++:$1: got '$got' lr $(cfg g/$n/pp.mp lr) dropout $(cfg g/$n/pp.mp dropout)"
	fi
done
if cmp -s g/2/pp.mp g/3/pp.mp; then
	ok "dldkd++: same seed and threads: identical checkpoints"
else
	notok "dldkd++: same seed and threads: checkpoints differ"
fi
"$BIN"/prvr-cat < g/1/pp.log | grep '"type":"step"' | head -n 1 > g/step1
if [ "$(field inh_nce_v2t < g/step1)" = 0 ] && [ "$(field exp_nce_v2t < g/step1)" = 0 ] &&
   awk -v a="$(field inh_nce_t2v < g/step1)" -v b="$(field exp_nce_t2v < g/step1)" \
   'BEGIN { exit !(a > 0 && b > 0) }'; then
	ok "dldkd++: soft InfoNCE logged in _nce_t2v of both branches"
else
	notok "dldkd++: step record $(cat g/step1)"
fi

# ---- bad inputs: exit 1, and nothing left in the directory
cd e || exit 1
expect_fail() {
	what=$1
	shift
	"$@" > /dev/null 2> err
	rc=$?
	left=$(ls | grep -v '^err$' | grep -v '^ok$')
	if [ "$rc" -eq 1 ] && [ -z "$left" ] && [ -s err ]; then
		ok "$what: exit 1, $(head -n 1 err)"
	else
		notok "$what: exit $rc, left '$left'"
	fi
}
"$BIN"/prvr-synth -p tvr-tiny -s 4 --dims 40,48,32 -o ../wrong -q
"$BIN"/feat-reduce < ../wrong/val-video-student.mp > ../wrong-val-video.mp 2>/dev/null
head -c 30000 ../train-video-student.mp > ../trunc.mp
expect_fail "queries of another split" "$BIN"/distill-step -v ../train-video-student.mp \
    -q ../val-query-student.mp -t ../train-tsim.mp $OPTS -o ck.mp -l log.mp
expect_fail "teacher-sim of other queries" "$BIN"/distill-step -v ../val-video-student.mp \
    -q ../val-query-student.mp -t ../train-tsim.mp $OPTS -o ck.mp -l log.mp
expect_fail "validation videos of other dims" "$BIN"/distill-step $DATA \
    --val-video ../wrong-val-video.mp --val-query ../val-query-student.mp $OPTS -o ck.mp -l log.mp
expect_fail "truncated video stream" "$BIN"/distill-step -v ../trunc.mp \
    -q ../train-query-student.mp -t ../train-tsim.mp $OPTS -o ck.mp -l log.mp
expect_fail "distillation without -t" "$BIN"/distill-step -v ../train-video-student.mp \
    -q ../train-query-student.mp $OPTS -o ck.mp
expect_fail "encode videos of other dims" sh -c \
    "'$BIN'/encode-video -c ../a/ck.mp -o out.mp < ../wrong-val-video.mp"
expect_fail "encode teacher videos" sh -c \
    "'$BIN'/encode-video -c ../a/ck.mp -o out.mp < ../test-video-teacher.mp"
expect_fail "encode-text with a bad checkpoint" sh -c \
    "head -c 5000 ../a/ck.mp > ../badck.mp; '$BIN'/encode-text -c ../badck.mp -o out.mp < ../test-query-student.mp"
expect_fail "resume on other data" "$BIN"/distill-step -v ../val-video-student.mp \
    -q ../val-query-student.mp -t ../val-tsim.mp --resume ../a/ep/epoch-1.mp -o ck.mp
expect_fail "--eval-loss without --resume" "$BIN"/distill-step $DATA --eval-loss
expect_fail "--soft-align without --teacher-query" "$BIN"/distill-step $DATA \
    -T ../train-video-teacher.mp --soft-align -o ck.mp
expect_fail "--preset without a dataset" "$BIN"/distill-step $DATA --preset dldkd++ -o ck.mp
expect_fail "--teacher-query of other queries" "$BIN"/distill-step $DATA --soft-align \
    -T ../train-video-teacher.mp --teacher-query ../val-query-teacher.mp $OPTS -o ck.mp
grep -q "val-query-teacher.mp: record 1: query 'tvr_val_000000#enc#0' is not in the query stream" err ||
	notok "--teacher-query of other queries: error does not name file, record and query"
expect_fail "--teacher-query given student queries" "$BIN"/distill-step $DATA --soft-align \
    -T ../train-video-teacher.mp --teacher-query ../train-query-student.mp $OPTS -o ck.mp
# options of train_opts (lib/ckpt.c): range errors name the flag; with --resume, a shape option
# that differs from the checkpoint's is an error, the others are ignored with a warning
expect_fail "--hidden 0" "$BIN"/distill-step $DATA --hidden 0 -o ck.mp
grep -q -- "--hidden '0': out of range" err || notok "--hidden 0: error does not name the flag"
expect_fail "--kd-loss of no kind" "$BIN"/distill-step $DATA --kd-loss l1 -o ck.mp
expect_fail "resume with another --hidden" "$BIN"/distill-step $DATA \
    --resume ../a/ep/epoch-1.mp --hidden 64 -o ck.mp
grep -q -- "--hidden 64, but ../a/ep/epoch-1.mp has 32" err ||
	notok "resume with another --hidden: error does not name both values"
expect_fail "resume with --kd feat on a sim checkpoint" "$BIN"/distill-step $DATA \
    -T ../train-video-teacher.mp --resume ../a/ep/epoch-1.mp --kd feat -o ck.mp
if "$BIN"/distill-step $DATA --resume ../a/ep/epoch-1.mp --hidden 32 --lr 1 --eval-loss \
    -j 1 > /dev/null 2> err && grep -q "1 given ignored" err; then
	ok "resume: the same --hidden accepted, --lr ignored with a warning"
else
	notok "resume with the same --hidden and another --lr"; cat err
fi

exit $fail
