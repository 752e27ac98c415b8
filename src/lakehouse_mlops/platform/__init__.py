"""Where the project runs: the Delta-enabled SparkSession and its JARs, the standalone cluster, MLflow
tracking hygiene, the lakehouse lock, the team MLflow server and its permissions."""
