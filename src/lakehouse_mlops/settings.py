"""Project settings."""

import warnings

from omegaconf.resolvers import oc

from lakehouse_mlops.framework.config_loader import UseCaseConfigLoader
from lakehouse_mlops.hooks import LineageHooks, SparkHooks, UseCaseHooks

HOOKS = (UseCaseHooks(), SparkHooks(), LineageHooks())

# OmegaConfigLoader + the selected use case's folder conf/<env>/usecases/<name>/ (globals: usecase_name).
CONFIG_LOADER_CLASS = UseCaseConfigLoader

CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    "config_patterns": {
        "spark": ["spark*", "spark*/**"],
        # not "**/parameters*" (Kedro's default): only the selected use case's folder is read
        "parameters": ["parameters*", "parameters*/**"],
        "catalog": ["catalog*", "catalog*/**"],
    },
    # The default merge replaces whole top-level keys between envs; soft merge lets an env override
    # one Spark setting or one parameter without restating the rest.
    "merge_strategy": {"parameters": "soft", "spark": "soft"},
    # Deployed envs take machine-specific values (storage root, tracking server) from the environment,
    # e.g. ${oc.env:LAKEHOUSE_ROOT,data}; Kedro enables oc.env only for credentials by default.
    "custom_resolvers": {"oc.env": oc.env},
}
# Kedro 1.7 registers resolvers through OmegaConf's deprecated name: one warning per resolver and
# config load, nothing a user can act on.
warnings.filterwarnings("ignore", message=r"register_new_resolver\(\) is deprecated", category=UserWarning)
