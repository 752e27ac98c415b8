#!/usr/bin/env bash
# The deployable bundle in dist/: the wheel, the same wheel as .zip (spark-submit --py-files does
# not take .whl), the conf tarball (conf/local excluded), the spark-submit entry point and the
# driver's log config. Runs in the project folder with the project's kedro on PATH or in $BIN.
set -euo pipefail
KEDRO="${BIN:+$BIN/}kedro"
rm -rf dist
"$KEDRO" package > dist.log 2>&1 || { cat dist.log >&2; rm -f dist.log; exit 1; }
rm -f dist.log
wheel=$(ls dist/lakehouse_mlops-*-py3-none-any.whl)
cp "$wheel" "${wheel%-py3-none-any.whl}.zip"
cp deploy/entrypoint.py deploy/log4j2.properties dist/
ls -1 dist
