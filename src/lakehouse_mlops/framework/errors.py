"""The project's error hierarchy: every error a user can meet names what was wrong and what to do."""


class LakehouseError(Exception):
    """Base class of all errors raised by lakehouse-mlops."""


class ConfigError(LakehouseError):
    """A configuration file holds an unknown key or an invalid value."""


class SparkStartupError(LakehouseError):
    """Spark (with Delta Lake) could not be started."""


class LandingFileError(LakehouseError):
    """A landing file could not be ingested at all (it is kept in landing and logged)."""


class NothingLostError(LakehouseError):
    """The ingestion invariant (landed = silver + quarantined + duplicates) does not hold."""


class TrainingDataError(LakehouseError):
    """The labelled examples cannot train a model (e.g. a feature without a single value)."""
