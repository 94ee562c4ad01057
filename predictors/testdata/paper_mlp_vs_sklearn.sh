#!/usr/bin/env bash
# Side by side on the same cores: sklearn's MLPRegressor((1000,)*4) against
# predictors' paper MLP (float64 and float32, gonum's BLAS or OpenBLAS),
# one epoch on 1,000 NB201 rows (a 5-epoch fit divided by 5 on both sides,
# BenchmarkPaperMLPEpoch's paperBenchEpochs) and one prediction of 15,625 cells.
# sklearn runs as its users run it: OpenBLAS picks its own kernel and
# threads (OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset for that command).
# The Go side runs twice when it links OpenBLAS: with the environment as it
# is, and with the same two variables unset (the kernel sklearn gets).
# usage: predictors/testdata/paper_mlp_vs_sklearn.sh [go test tags, default openblas]
set -euo pipefail
cd "$(dirname "$0")/.."
tags=${1-openblas}
sk=$(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 testdata/bench_sklearn_mlp.py 5)
echo "$sk"
go test -tags "$tags" -c -o /tmp/paper_mlp_bench.$$ .
run() {
  echo "== nbquery ($tags) $1"
  shift
  "$@" /tmp/paper_mlp_bench.$$ -test.run '^$' -test.bench 'PaperMLPEpoch' -test.benchtime 3x |
    awk -v sk="$sk" '
      BEGIN { split(sk, a, /[ =]/); ske = a[3]; skp = a[5]; skec = a[7]; skpc = a[9] }
      /^BenchmarkPaperMLPEpoch\/.*\/epoch/ { printf "%-40s %.3f s/epoch   %7.1f CPU-ms; ratio to sklearn: wall %.2f, CPU %.2f\n", $1, $3/1e9, $5, ($3/1e9)/ske, $5/skec }
      /^BenchmarkPaperMLPEpoch\/.*\/predict/ { printf "%-40s %.3f s/predict %7.1f CPU-ms; ratio to sklearn: wall %.2f, CPU %.2f\n", $1, $3/1e9, $5, ($3/1e9)/skp, $5/skpc }'
}
run "environment as set (OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE-unset})" env
if [[ $tags == *openblas* ]]; then
  run "OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset, as sklearn" env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE
fi
rm -f /tmp/paper_mlp_bench.$$
