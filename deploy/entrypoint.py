"""spark-submit entry point of the packaged project (spark-submit needs a Python file to run).

    spark-submit --py-files lakehouse_mlops-<version>.zip entrypoint.py cycle 2013-05 \
        --env cluster --conf-source conf-lakehouse_mlops.tar.gz

Arguments are those of ``lakehouse-mlops``: an operator command (cycle, replay, history, ...) or
Kedro's packaged ``run`` options. The first line of output names the code that runs, so a log shows
whether the packaged build or a development install was used.
"""

import sys

import lakehouse_mlops
from lakehouse_mlops.__main__ import main

print(f"lakehouse_mlops {lakehouse_mlops.__version__} from {lakehouse_mlops.__file__}", flush=True)
try:
    sys.exit(main(sys.argv[1:]))
finally:
    # Unregister from the master now (the application shows as finished, its executors are freed)
    # instead of when the JVM notices the Python driver has gone.
    from pyspark.sql import SparkSession

    if (session := SparkSession.getActiveSession()) is not None:
        session.stop()
