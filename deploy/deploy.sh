#!/usr/bin/env bash
# Ship an already-built bundle (DIST: `make package` output or a release's assets) to environment
# ENV on DEPLOY_PLATFORM (databricks | spark-submit); never rebuilds it. Contract and settings:
# docs/deployment.md ("make deploy: what it does on each platform").
set -euo pipefail
ENV="${ENV:-}" DIST="${DIST:-dist}" DEPLOY_ROOT="${DEPLOY_ROOT:-/opt/lakehouse-mlops}"
[[ -n "$ENV" && -d "conf/$ENV" ]] || { echo "ENV must name a conf/ folder (staging, prod)" >&2; exit 1; }
wheel=$(ls "$DIST"/lakehouse_mlops-*-py3-none-any.whl 2>/dev/null) \
  && [[ -f "$DIST/conf-lakehouse_mlops.tar.gz" ]] \
  || { echo "$DIST/ lacks the wheel or the conf tarball: run \`make package\` or download a release" >&2; exit 1; }
version=$(basename "$wheel" | cut -d- -f2)

case "${DEPLOY_PLATFORM:-}" in
  databricks)
    databricks bundle deploy --target "$ENV" --var "release=$version"
    databricks fs cp --overwrite "$DIST/conf-lakehouse_mlops.tar.gz" \
      "dbfs:${DATABRICKS_DEPLOY_VOLUME:?}/lakehouse_mlops/$version/conf-lakehouse_mlops.tar.gz"
    ;;
  spark-submit)
    key=$(mktemp) hosts=$(mktemp)
    trap 'rm -f "$key" "$hosts"' EXIT
    printf '%s\n' "${SPARK_SUBMIT_SSH_KEY:?}" > "$key"
    printf '%s\n' "${SPARK_SUBMIT_KNOWN_HOSTS:?}" > "$hosts"
    ssh_opts=(-i "$key" -o "UserKnownHostsFile=$hosts")
    dest="$DEPLOY_ROOT/$ENV/releases/$version"
    ssh "${ssh_opts[@]}" "${SPARK_SUBMIT_HOST:?}" "mkdir -p $dest"
    scp "${ssh_opts[@]}" "$DIST"/* requirements.lock "$SPARK_SUBMIT_HOST:$dest/"
    # the executors' Python: the pinned dependencies, packed for spark-submit --archives
    ssh "${ssh_opts[@]}" "$SPARK_SUBMIT_HOST" "cd $dest && python3.11 -m venv env \
      && env/bin/pip install -q -r requirements.lock venv-pack \
      && env/bin/venv-pack -q -p env -o environment.tar.gz \
      && ln -sfn $dest $DEPLOY_ROOT/$ENV/current"
    ;;
  *) echo "DEPLOY_PLATFORM must be databricks or spark-submit" >&2; exit 1 ;;
esac
echo "deployed lakehouse_mlops $version to $ENV on $DEPLOY_PLATFORM"
